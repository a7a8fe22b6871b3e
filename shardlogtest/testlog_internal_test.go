package shardlogtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
)

// countingTB counts the calls the guard lets through; any other method
// panics (nil embedded TB).
type countingTB struct {
	testing.TB
	logs, errs int
}

func (c *countingTB) Helper()               {}
func (c *countingTB) Log(...any)            { c.logs++ }
func (c *countingTB) Errorf(string, ...any) { c.errs++ }

// Once the cleanup has closed the output, a line that arrives late (a
// sink call that outlived the shutdown) reaches neither t.Log nor
// t.Errorf, and the sink reports it as not written.
func TestNoCallAfterCleanup(t *testing.T) {
	tb := &countingTB{}
	out := &testOutput{t: tb}
	s := &testLogSink{out: out, enc: core.Encoder(nil)}
	ev := &core.Event{Level: core.LevelInfo, Message: "m"}
	batch := []core.Entry{{Event: ev, Line: []byte("a\n")}, {Event: ev, Line: []byte("b\n")}}

	n, err := s.Write(context.Background(), batch)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	out.errorf("x")
	require.Equal(t, 2, tb.logs)
	require.Equal(t, 1, tb.errs)

	out.close()
	n, err = s.Write(context.Background(), batch)
	require.ErrorIs(t, err, errTestDone)
	require.Equal(t, 0, n)
	out.errorf("x")
	require.Equal(t, 2, tb.logs)
	require.Equal(t, 1, tb.errs)
}
