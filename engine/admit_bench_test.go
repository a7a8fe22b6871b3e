package engine

import (
	"testing"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
)

// BenchmarkQuickAdmit is what the memory budget and the event size limit
// add to a call: the footprint of a 5-field event and, with the budget
// on, one load of its over flag. Compare budget=on with budget=off
// (benchstat); the footprint is paid in both (the size limit needs it).
func BenchmarkQuickAdmit(b *testing.B) {
	fields := []core.Field{core.String("method", "GET"), core.Int("status", 200),
		core.Duration("took", 1500*time.Microsecond), core.Int("bytes", 1<<20), core.Bool("cached", false)}
	for _, on := range []bool{true, false} {
		b.Run(map[bool]string{true: "budget=on", false: "budget=off"}[on], func(b *testing.B) {
			opts := []Option{WithSink(sinks.NewMemory(sinks.MemoryOptions{}))}
			if !on {
				opts = append(opts, WithMaxQueueBytes(0))
			}
			e, err := New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Shutdown(b.Context())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, quick := e.quickAdmit("request handled", fields, nil); !quick {
						b.Error("the common call took the slow path")
						return
					}
				}
			})
		})
	}
}
