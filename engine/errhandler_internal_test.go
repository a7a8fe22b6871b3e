package engine

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
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
