package engine_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/engine"
)

// A breaker's recovery (half-open -> closed, after its probe passed) is
// reported to the error handler beside its openings. Mutation caught: the
// old condition (open -> closed, a change a breaker never makes).
func TestBreakerRecoveryIsReported(t *testing.T) {
	s := &scriptedSink{script: func(c int64) string {
		if c == 1 {
			return "fail"
		}
		return "ok"
	}}
	clk := &manualClock{}
	var mu sync.Mutex
	var msgs []string
	e := newEngine(t, engine.WithBatchSize(1),
		engine.WithSink(s, engine.SinkName("flaky"), engine.SinkRetry(engine.NoRetry),
			engine.SinkBreaker(breaker.Config{FailureThreshold: 1, ResetTimeout: time.Second, Clock: clk.now})),
		engine.WithErrorHandler(func(err error) {
			if strings.Contains(err.Error(), "circuit breaker") {
				mu.Lock()
				msgs = append(msgs, err.Error())
				mu.Unlock()
			}
		}))
	e.Logger().Info("fails")
	flush(t, e)
	clk.ns.Add(int64(2 * time.Second))
	e.Logger().Info("probe succeeds")
	flush(t, e)
	require.Equal(t, breaker.Closed, e.Metrics(false).Sinks[0].Breaker.State)
	mu.Lock()
	defer mu.Unlock()
	require.Condition(t, func() bool {
		for _, m := range msgs {
			if strings.HasSuffix(m, "-> closed") {
				return true
			}
		}
		return false
	}, "the breaker closed again but only its opening was reported: %q", msgs)
}
