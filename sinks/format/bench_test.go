package format_test

import (
	"testing"

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
	for _, bc := range []struct {
		name string
		e    *core.Event
	}{
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
