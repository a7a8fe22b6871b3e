package engine_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// panickyEncoder is JSON, except that it panics on an event whose message
// is "boom".
type panickyEncoder struct{}

func (panickyEncoder) Append(dst []byte, e *core.Event) []byte {
	if e.Message == "boom" {
		panic("encoder exploded")
	}
	return format.JSON{}.Append(dst, e)
}

// lockedBuffer is a bytes.Buffer safe for the writer and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// An encoder that panics on one event costs that event alone: the
// process survives, the error is reported, the event is counted as
// failed for the sink (not written: nothing of it reached the
// destination), and the events around it, in the same batch, are
// written. Before the fix the sink got an empty record for it, and the
// event counted as written (Written 5, Failed 0).
func TestAnEncoderPanicCostsOnlyItsEvent(t *testing.T) {
	var out lockedBuffer
	sink, err := sinks.NewWriter(&out, panickyEncoder{})
	require.NoError(t, err)
	var reported atomic.Int64
	e := newEngine(t, engine.WithSink(sink), engine.WithShards(1),
		engine.WithErrorHandler(func(err error) {
			if strings.Contains(err.Error(), "encoder exploded") {
				reported.Add(1)
			}
		}))
	l := e.Logger()
	for _, msg := range []string{"a", "boom", "c", "boom", "e"} {
		l.Info(msg)
	}
	flush(t, e)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3, "%q", lines)
	for i, want := range []string{`"msg":"a"`, `"msg":"c"`, `"msg":"e"`} {
		require.Contains(t, lines[i], want)
	}
	require.Equal(t, int64(2), reported.Load())
	s := e.Stats().Sinks[0]
	require.Equal(t, uint64(3), s.Written, "%+v", s)
	require.Equal(t, uint64(2), s.Failed, "%+v", s)
	requireBalanced(t, e.Stats())

	// A round in which every event failed to encode still completes the
	// Flush that waits for them (the writer made progress).
	for range 3 {
		l.Info("boom")
	}
	flush(t, e)
	s = e.Stats().Sinks[0]
	require.Equal(t, uint64(3), s.Written, "%+v", s)
	require.Equal(t, uint64(5), s.Failed, "%+v", s)
	require.Equal(t, int64(5), reported.Load())
	requireBalanced(t, e.Stats())
}

// The same for a fallback that encodes differently: an event its encoder
// panics on is counted as failed by the fallback, and is not handed to it
// as an empty record. Before the fix it counted as written by the
// fallback (FallbackWritten 3, FallbackFailed 0).
func TestAFallbackEncoderPanicCostsOnlyItsEvent(t *testing.T) {
	primary := sinks.NewMemory(sinks.MemoryOptions{})
	primary.SetErr(errors.New("down"))
	var out lockedBuffer
	fb, err := sinks.NewWriter(&out, panickyEncoder{})
	require.NoError(t, err)
	e := newEngine(t, engine.WithShards(1),
		engine.WithSink(primary, engine.SinkName("primary"), engine.SinkFallback(fb),
			engine.SinkRetry(engine.RetryPolicy{MaxAttempts: 1}),
			engine.SinkBreaker(breaker.Config{FailureThreshold: 1, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	l := e.Logger()
	l.Info("opens the breaker")
	flush(t, e)
	for _, msg := range []string{"a", "boom", "c"} {
		l.Info(msg)
	}
	flush(t, e)
	s := e.Stats().Sinks[0]
	require.Equal(t, uint64(3), s.Diverted, "%+v", s)
	require.Equal(t, uint64(2), s.FallbackWritten, "%+v", s)
	require.Equal(t, uint64(1), s.FallbackFailed, "%+v", s)
	require.Equal(t, s.Accepted, s.Written+s.Diverted+s.Failed+s.Dropped.Total(), "%+v", s)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, "%q", lines)
	require.Contains(t, lines[0], `"msg":"a"`)
	require.Contains(t, lines[1], `"msg":"c"`)
}
