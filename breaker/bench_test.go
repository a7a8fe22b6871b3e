package breaker

import (
	"testing"
	"time"
)

// BenchmarkClosedAllowDone is the cost a healthy sink pays per write: Allow
// and a successful Done on a closed breaker. serial is one goroutine;
// parallel runs on every processor at once, so it shows whether the closed
// path writes shared memory (it should not: the figure should stay flat
// with -cpu).
func BenchmarkClosedAllowDone(b *testing.B) {
	bench(b, Config{})
}

// BenchmarkClosedAllowDoneWindow is the same with the failure-rate window
// on: one shared atomic add per call, so parallel shows the contention.
func BenchmarkClosedAllowDoneWindow(b *testing.B) {
	bench(b, Config{FailureRate: 0.5})
}

func bench(b *testing.B, cfg Config) {
	b.Run("serial", func(b *testing.B) {
		br := mustNew(b, cfg)
		for b.Loop() {
			t, _ := br.Allow()
			br.Done(t, nil, time.Microsecond)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		br := mustNew(b, cfg)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t, _ := br.Allow()
				br.Done(t, nil, time.Microsecond)
			}
		})
	})
}

func mustNew(b *testing.B, cfg Config) *Breaker {
	br, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return br
}
