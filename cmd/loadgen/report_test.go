package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
)

func TestCheckReportsEachMismatch(t *testing.T) {
	r := &result{
		Attempted: 100,
		Sinks: []sinkResult{
			{SinkStats: shardlog.SinkStats{Name: "file", Accepted: 100, Written: 90, Dropped: shardlog.Drops{QueueFullOldest: 5}}},
			{SinkStats: shardlog.SinkStats{Name: "console", Accepted: 99, Written: 99}},
			{SinkStats: shardlog.SinkStats{Name: "discard", Accepted: 100, Written: 100}},
		},
	}
	bad := r.check(true, 98)
	require.Len(t, bad, 3)
	assert.Contains(t, bad[0], "sink file: accepted 100 != written 90 + dropped 5 + failed 0 + pending 0 (= 95)")
	assert.Contains(t, bad[1], "sink console: accepted 99 != attempted 100")
	assert.Contains(t, bad[2], "sink discard: received 98 events, engine counts 100 written")

	r.Mismatches = bad
	var out bytes.Buffer
	require.NoError(t, r.writeText(&out))
	assert.Contains(t, out.String(), "accounting: MISMATCH\n  sink file:")
	assert.NotContains(t, out.String(), "accounting: exact")
}

func TestCheckPendingAfterShutdown(t *testing.T) {
	r := &result{
		Attempted: 10,
		Sinks:     []sinkResult{{SinkStats: shardlog.SinkStats{Name: "file", Accepted: 10, Written: 7, Pending: 3}}},
	}
	assert.Empty(t, r.check(false, -1), "a shutdown cut short may leave events pending")
	assert.Len(t, r.check(true, -1), 1)
}

func TestDropReasonsListsNonZeroReasons(t *testing.T) {
	assert.Equal(t, "", dropReasons(shardlog.Drops{}))
	assert.Equal(t, "queue-full-oldest 3, shutdown 1",
		dropReasons(shardlog.Drops{QueueFullOldest: 3, Shutdown: 1}))
}

func TestFmtNs(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want string
	}{
		{0, "0ns"},
		{999, "999ns"},
		{1000, "1.00µs"},
		{1234, "1.23µs"},
		{12345, "12.3µs"},
		{123456, "123µs"},
		{999_600, "1.00ms"},
		{48_200_000, "48.2ms"},
		{999_999_999, "1.00s"},
		{int64(90 * time.Second), "90.0s"},
	} {
		assert.Equal(t, tc.want, fmtNs(tc.ns), "%d", tc.ns)
	}
}

func TestPerSecond(t *testing.T) {
	assert.Equal(t, "950/s", perSecond(950))
	assert.Equal(t, "1.00k/s", perSecond(999.6))
	assert.Equal(t, "200k/s", perSecond(199_999))
	assert.Equal(t, "1.00M/s", perSecond(999_999))
	assert.Equal(t, "2.50M/s", perSecond(2_500_000))
}

func TestProgressRewritesItsLineOnATerminal(t *testing.T) {
	c, err := parseFlags([]string{"-sink", "discard", "-goroutines", "2"}, io.Discard)
	require.NoError(t, err)
	p, err := build(c, io.Discard)
	require.NoError(t, err)
	w, err := newWorkload(c, p.eng.Logger())
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = p.eng.Shutdown(context.Background()) })

	var out bytes.Buffer
	start := time.Now()
	pr := newProgress(&out, true, p.eng, w, start)
	pr.tick(start.Add(time.Second))
	pr.tick(start.Add(2 * time.Second))
	s := out.String()
	assert.True(t, strings.HasPrefix(s, "\r"), "%q", s)
	assert.Equal(t, 2, strings.Count(s, "\r"))
	assert.NotContains(t, s, "\n")
	assert.Contains(t, s, "discard written")

	stop := make(chan struct{})
	close(stop)
	pr.run(time.Hour, stop)
	assert.True(t, strings.HasSuffix(out.String(), "\n"), "stop ends the line")
}

// The text report says how many events full rings evicted and how many of
// them the spill kept, and says nothing of it when no ring was full.
func TestTextReportsTheSpill(t *testing.T) {
	r := &result{Accounting: "exact", Evicted: 120, Spilled: 100}
	var b bytes.Buffer
	require.NoError(t, r.writeText(&b))
	assert.Contains(t, b.String(), "full rings: 120 events evicted; the spill kept 100 (evicted, or calls a full ring could not take) in memory")
	r.Evicted, r.Spilled = 0, 0
	b.Reset()
	require.NoError(t, r.writeText(&b))
	assert.NotContains(t, b.String(), "full rings")
}
