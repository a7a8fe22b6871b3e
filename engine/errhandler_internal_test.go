package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/sinks"
)

// The default error handler prints what a burst suppressed: a second
// after its last line, or at Shutdown. Mutation caught: printing the
// count only with the next line (three errors in a millisecond printed
// one line and never "2 more").
func TestDefaultErrorHandlerReportsTheSuppressedTail(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	require.NoError(t, err)
	saved := os.Stderr
	os.Stderr = f
	t.Cleanup(func() { os.Stderr = saved })

	e, err := New(WithSink(sinks.NewMemory(sinks.MemoryOptions{})))
	require.NoError(t, err)
	for i := range 3 {
		e.errs.report(errors.New("burst error " + string(rune('a'+i))))
	}
	_, err = e.Shutdown(t.Context())
	require.NoError(t, err)

	var out []byte
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		out, err = os.ReadFile(f.Name())
		require.NoError(t, err)
		if strings.Contains(string(out), "2 more") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, uint64(3), e.errs.count.Load())
	require.Contains(t, string(out), "2 more",
		"stderr after the burst, 1.5s later and after Shutdown:\n%s", out)
}

// The default error handler writes to stderr after its mutex: a report
// the rate limiter suppresses returns at once while another goroutine's
// line waits on a stderr that blocks (a full pipe). report runs on sink
// writers and flushers, so one stalled stderr had frozen every pipeline
// goroutine that met an error. Mutation caught: writing under the mutex.
func TestSuppressedErrorDoesNotWaitForABlockedStderr(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	// Fill the pipe so that the next write blocks.
	chunk := bytes.Repeat([]byte("x"), 4096)
	require.NoError(t, w.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	for {
		if _, err := w.Write(chunk); err != nil {
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			break
		}
	}
	require.NoError(t, w.SetWriteDeadline(time.Time{}))
	saved := os.Stderr
	os.Stderr = w
	var rep errorReporter
	printing := make(chan struct{})
	go func() {
		defer close(printing)
		rep.report(errors.New("printed: blocks on the full pipe"))
	}()
	t.Cleanup(func() {
		go func() { _, _ = io.Copy(io.Discard, r) }() // unblock the printer
		<-printing
		os.Stderr = saved
		_ = w.Close()
		_ = r.Close()
	})
	// Wait until the first report has decided to print: it holds the
	// mutex (the old code, writing under it) or has recorded its line.
	require.Eventually(t, func() bool {
		if !rep.mu.TryLock() {
			return true
		}
		decided := !rep.last.IsZero()
		rep.mu.Unlock()
		return decided
	}, time.Second, time.Millisecond)

	done := make(chan struct{})
	go func() {
		defer close(done)
		rep.report(errors.New("suppressed: within the second"))
	}()
	select {
	case <-done:
	case <-time.After(200 * time.Millisecond):
		t.Fatal("a report the rate limiter suppresses waited for stderr, blocking its pipeline goroutine")
	}
}

// A user error handler that calls runtime.Goexit (t.FailNow from a test's
// handler) ends only its own goroutine: the writer that reported goes on,
// and the events after the failed Write reach the sink. Mutation caught:
// calling the handler on the writer's goroutine (the writer died, Flush
// said "engine: closed" on an open engine, and nothing more was written).
func TestAnErrorHandlerCallingGoexitDoesNotEndTheWriter(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	mem.SetErr(errors.New("first write fails"))
	var calls atomic.Int32
	e, err := New(WithSink(mem, SinkRetry(NoRetry)), WithErrorHandler(func(error) {
		calls.Add(1)
		runtime.Goexit()
	}))
	require.NoError(t, err)
	defer func() { _, _ = e.Shutdown(context.Background()) }()
	e.Logger().Info("fails")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, e.Flush(ctx))
	require.Positive(t, calls.Load(), "the handler was called")
	mem.SetErr(nil)
	e.Logger().Info("after")
	require.NoError(t, e.Flush(ctx), "the writer is alive")
	require.Equal(t, uint64(1), e.Stats().Sinks[0].Written)
}
