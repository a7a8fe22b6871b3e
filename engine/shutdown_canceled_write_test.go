package engine_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// A Write that Shutdown cancels is no sink error under the default retry
// policy either: the retry wait Shutdown ends does not report the
// canceled attempt. Mutation caught: reporting it (Errors 1, "write:
// context canceled"; a regression of this session's halted path, found by
// review).
func TestAShutdownCanceledWriteIsNoErrorUnderDefaultRetry(t *testing.T) {
	var mu sync.Mutex
	var reported []string
	s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return "hang" }}
	e := newEngine(t, engine.WithSink(s, engine.SinkName("hangs")), // DefaultRetryPolicy
		engine.WithErrorHandler(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err.Error())
		}))
	e.Logger().Info("held by a hung write")
	require.Eventually(t, func() bool { return s.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	_, err := e.Shutdown(context.Background(), drain.Graceful(20*time.Millisecond))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	rep := settledStats(t, e)
	requireBalanced(t, rep)
	require.Equal(t, uint64(1), rep.Sinks[0].Dropped.Shutdown, "%+v", rep.Sinks[0])
	mu.Lock()
	defer mu.Unlock()
	var writeErrs []string
	for _, r := range reported {
		if strings.Contains(r, ": write: ") {
			writeErrs = append(writeErrs, r)
		}
	}
	require.Zero(t, rep.Sinks[0].Errors, "a write canceled by the shutdown is no failed sink call; reported: %q", writeErrs)
	require.Empty(t, writeErrs)
}
