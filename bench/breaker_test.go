package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/shardlog/shardlog/breaker"
)

// A closed breaker's cost per call, shardlog's beside sony/gobreaker's
// two-step breaker (the same shape: ask, then report the outcome). Issue
// 11's target: at most 5 ns/op and at least 5x faster than gobreaker at
// -cpu 2. serial is one goroutine; parallel every processor at once.
func BenchmarkBreakerClosed(b *testing.B) {
	for _, name := range []string{"shardlog", "gobreaker"} {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run("breaker="+name+"/"+mode, func(b *testing.B) {
				call := closedCall(b, name)
				if mode == "serial" {
					for b.Loop() {
						call()
					}
					return
				}
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						call()
					}
				})
			})
		}
	}
}

// closedCall returns one admitted, successful call on a closed breaker.
func closedCall(tb testing.TB, name string) func() {
	if name == "gobreaker" {
		cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{Name: "bench"})
		return func() {
			done, err := cb.Allow()
			if err != nil {
				tb.Fatal(err)
			}
			done(nil)
		}
	}
	br, err := breaker.New(breaker.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return func() {
		t, ok := br.Allow()
		if !ok {
			tb.Fatal("refused")
		}
		br.Done(t, nil, time.Microsecond)
	}
}

// Both breakers trip after their threshold of consecutive failures and
// refuse calls while open, so the benchmark compares like with like.
func TestBreakersTripAlike(t *testing.T) {
	boom := errors.New("boom")
	cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name: "t", Timeout: time.Hour,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
	})
	br, err := breaker.New(breaker.Config{FailureThreshold: 5, ResetTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		done, err := cb.Allow()
		if err != nil {
			t.Fatal(err)
		}
		done(boom)
		tk, ok := br.Allow()
		if !ok {
			t.Fatal("shardlog's breaker refused before its threshold")
		}
		br.Done(tk, boom, time.Microsecond)
	}
	if _, err := cb.Allow(); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("gobreaker did not open: %v", err)
	}
	if _, ok := br.Allow(); ok || br.State() != breaker.Open {
		t.Fatalf("shardlog's breaker did not open: %v", br.State())
	}
}
