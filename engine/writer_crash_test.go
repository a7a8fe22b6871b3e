package engine_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
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

// The scenarios below crash the whole process from a sink writer's
// goroutine (an unrecovered panic), so each runs in a child process: the
// test re-runs its own binary on itself and fails when the child dies.

const crashChildEnv = "SHARDLOG_CRASH_CHILD"

// inChildProcess runs scenario in a child process when called from the
// parent, and the scenario itself in the child. It fails the parent's test
// when the child did not exit cleanly.
func inChildProcess(t *testing.T, scenario func(t *testing.T)) {
	t.Helper()
	if os.Getenv(crashChildEnv) == t.Name() {
		scenario(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if len(out) > 3000 {
		out = out[:3000]
	}
	require.NoError(t, err, "the process died:\n%s", out)
}

// uncomparableEncoder is JSON; its slice field makes its values
// uncomparable, which the engine allows elsewhere (encoderIndex).
type uncomparableEncoder struct{ redact []string }

func (uncomparableEncoder) Append(dst []byte, e *core.Event) []byte {
	return format.JSON{}.Append(dst, e)
}

// A sink and its fallback whose encoders are values of one uncomparable
// type: diverting a batch must not compare them with == (a runtime panic
// on the writer, which nothing recovered: the process died the first
// time the breaker opened). Mutation caught: comparing them with ==.
func TestDivertWithUncomparableEncodersDoesNotCrash(t *testing.T) {
	inChildProcess(t, func(t *testing.T) {
		primary := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{Encoder: uncomparableEncoder{}}),
			mode: func(int64) string { return "fail" }}
		fb := sinks.NewMemory(sinks.MemoryOptions{Encoder: uncomparableEncoder{redact: []string{"password"}}})
		e := newEngine(t, engine.WithBatchSize(1),
			engine.WithSink(primary, engine.SinkName("primary"), engine.SinkFallback(fb), engine.SinkRetry(engine.NoRetry),
				engine.SinkBreaker(breaker.Config{FailureThreshold: 1, ResetTimeout: time.Hour})),
			engine.WithErrorHandler(func(error) {}))
		e.Logger().Info("fails, opens the breaker")
		flush(t, e)
		e.Logger().Info("diverted")
		flush(t, e)
		require.Equal(t, uint64(1), e.Stats().Sinks[0].Diverted)
	})
}

// A panicking OnStateChange (user code, run on the sink's writer when
// the breaker trips) is recovered and reported, as user code on the
// pipeline is (DESIGN "Failures"). Mutation caught: calling it without
// e.safely (the process died on the first trip).
func TestPanickingOnStateChangeDoesNotCrash(t *testing.T) {
	inChildProcess(t, func(t *testing.T) {
		s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return "fail" }}
		e := newEngine(t, engine.WithBatchSize(1),
			engine.WithSink(s, engine.SinkName("down"), engine.SinkRetry(engine.NoRetry),
				engine.SinkBreaker(breaker.Config{FailureThreshold: 1, ResetTimeout: time.Hour,
					OnStateChange: func(from, to breaker.State) { panic("alerting hook failed") }})),
			engine.WithErrorHandler(func(error) {}))
		e.Logger().Info("fails, opens the breaker")
		flush(t, e)
		require.Equal(t, uint64(1), e.Stats().Sinks[0].Failed)
	})
}

// uint64PanickyEncoder is JSON, except that it panics on an event with a
// uint64 field (a bug in a user's encoder).
type uint64PanickyEncoder struct{}

func (uint64PanickyEncoder) Append(dst []byte, e *core.Event) []byte {
	for _, f := range e.Fields() {
		if f.Kind() == core.KindUint64 {
			panic("encoder cannot do uint64")
		}
	}
	return format.JSON{}.Append(dst, e)
}

// The loss marker is encoded through appendEncoded like every event: an
// encoder that panics on its uint64 counts costs the marker (reported),
// not the process. Mutation caught: the encoder's Append called directly
// (the process died at the first loss the marker should report).
func TestEncoderPanicOnTheLossMarkerDoesNotCrash(t *testing.T) {
	inChildProcess(t, func(t *testing.T) {
		s := &scriptedSink{script: func(c int64) string {
			if c == 1 {
				return "na" // one event lost (not-attempted): the next batch carries a marker
			}
			return "ok"
		}}
		enc := &scriptedEncodingSink{scriptedSink: s, enc: uint64PanickyEncoder{}}
		var panics atomic.Int32
		e := newEngine(t, engine.WithBatchSize(1),
			engine.WithSink(enc, engine.SinkName("marked"), engine.SinkLossMarker(true)),
			engine.WithErrorHandler(func(err error) {
				if strings.Contains(err.Error(), "panicked") {
					panics.Add(1)
				}
			}))
		e.Logger().Info("lost")
		flush(t, e)
		e.Logger().Info("carries the marker")
		flush(t, e)
		st := e.Stats().Sinks[0]
		require.Equal(t, uint64(1), st.Written, "the event that would have carried the marker is written: %+v", st)
		require.Equal(t, uint64(1), st.Dropped.NotAttempted)
		require.Zero(t, st.Markers, "no marker: its encoding panicked")
		require.Positive(t, panics.Load(), "the encoder's panic is reported")
	})
}

// scriptedEncodingSink is a scriptedSink with an encoder.
type scriptedEncodingSink struct {
	*scriptedSink
	enc core.Encoder
}

func (s *scriptedEncodingSink) Encoder() core.Encoder { return s.enc }
