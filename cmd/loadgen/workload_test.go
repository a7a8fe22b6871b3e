package main

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
)

// The generator's per-event work (fields, level, the call, both records)
// allocates nothing with up to core.InlineFields fields (six; the default
// is five), so the latencies measured carry no garbage of the generator's
// own. (A call with more fields allocates one slice in the engine.)
func TestEventPathDoesNotAllocate(t *testing.T) {
	c, err := parseFlags([]string{"-sink", "discard", "-fields", strconv.Itoa(core.InlineFields), "-goroutines", "1"}, io.Discard)
	require.NoError(t, err)
	p, err := build(c, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = p.eng.Shutdown(context.Background()) })
	w, err := newWorkload(c, p.eng.Logger())
	require.NoError(t, err)

	ctx := context.Background()
	fields := make([]shardlog.Field, c.fields)
	call, service := w.call.Recorder(0), w.service.Recorder(0)
	var k uint64
	allocs := testing.AllocsPerRun(1000, func() {
		lvl, msg := w.event(fields, 0, k)
		w.log.Log(ctx, lvl, msg, fields...)
		call.Record(int64(k))
		service.Record(int64(k))
		k++
	})
	assert.Zero(t, allocs)
}

func TestLevelOf(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want shardlog.Level
	}{
		{1, shardlog.LevelInfo}, {999, shardlog.LevelInfo}, {1000, shardlog.LevelWarn},
		{9000, shardlog.LevelWarn}, {10000, shardlog.LevelError}, {20000, shardlog.LevelError}, {20001, shardlog.LevelInfo},
	} {
		lvl, _ := levelOf(tc.n)
		assert.Equal(t, tc.want, lvl, "event %d", tc.n)
	}
}

// The goroutines' schedules are staggered over one interval, and together
// they hold rate x duration events.
func TestScheduleIsStaggeredAndComplete(t *testing.T) {
	c, err := parseFlags([]string{"-rate", "1000", "-goroutines", "4", "-sink", "discard"}, io.Discard)
	require.NoError(t, err)
	p, err := build(c, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = p.eng.Shutdown(context.Background()) })
	w, err := newWorkload(c, p.eng.Logger())
	require.NoError(t, err)

	assert.Equal(t, 4e6, w.interval, "4ms between one goroutine's events")
	for g, want := range []float64{0, 1e6, 2e6, 3e6} {
		assert.Equal(t, want, w.offset(g))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // schedule only: every goroutine stops before its first call
	w.run(ctx, time.Now(), c.duration)
	assert.Equal(t, uint64(10000), w.scheduled())
	assert.Zero(t, w.sent())
}
