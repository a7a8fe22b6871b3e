package format_test

import (
	"testing"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

func BenchmarkJSON(b *testing.B) { benchmarkEncoder(b, format.JSON{}) }

func BenchmarkText(b *testing.B) { benchmarkEncoder(b, format.Text{}) }

func benchmarkEncoder(b *testing.B, enc core.Encoder) {
	full := fullEvent()
	five := &core.Event{Time: full.Time, Level: full.Level, Message: "request done", Logger: full.Logger}
	five.SetFields(full.Fields()[:5])
	noScope := *full
	noScope.Scope = nil
	// The peers benchmarks' event (bench/subject_test.go).
	peers := &core.Event{Time: full.Time, Level: core.LevelInfo, Message: "request handled"}
	peers.SetFields([]core.Field{core.String("method", "GET"), core.Int("status", 200),
		core.Duration("took", 1500*time.Microsecond), core.Int("bytes", 123456), core.Bool("cached", false)})
	for _, bc := range []struct {
		name string
		e    *core.Event
	}{
		{"peers", peers},
		{"5fields", five},
		{"10fields", &noScope},
		{"10fields+scope", full},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := enc.Append(nil, bc.e)
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			for b.Loop() {
				dst = enc.Append(dst[:0], bc.e)
			}
		})
	}
}
