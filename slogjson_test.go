package shardlog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
)

// The same slog records, through slog's own JSON handler and through
// shardlog's handler into a SlogJSON sink, give the same bytes: the
// engine's conversion of slog records and the encoder together. With
// format.JSON (the default) this fails on durations, []byte and the time.
func TestSlogJSONThroughTheEngineMatchesSlog(t *testing.T) {
	var got bytes.Buffer
	sink, err := shardlog.NewWriter(&got, shardlog.SlogJSON{})
	require.NoError(t, err)
	e, err := shardlog.New(shardlog.WithSink(sink), shardlog.WithLevel(shardlog.LevelTrace),
		shardlog.WithOverflow(shardlog.Block))
	require.NoError(t, err)
	var want bytes.Buffer
	ours := shardlog.NewHandler(e.Logger(), nil)
	theirs := slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.Level(-8)})

	at := time.Date(2026, 11, 29, 16, 4, 5, 123456789, time.FixedZone("CET", 3600))
	records := []struct {
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{slog.LevelInfo, "plain", nil},
		{slog.LevelWarn, "kinds", []slog.Attr{
			slog.String("s", "a \"quoted\" <b>&</b>\n\t\u2028"), slog.Int("i", -42), slog.Uint64("u", 1<<63),
			slog.Float64("f", 0.1), slog.Bool("b", true), slog.Duration("d", 1500*time.Millisecond),
			slog.Time("t", at.Add(time.Hour)), slog.Any("bytes", []byte{0, 1, 2, 255}),
			slog.Any("err", errors.New("boom")), slog.Any("m", map[string]int{"a": 1, "b": 2}),
		}},
		{slog.LevelError, "groups", []slog.Attr{
			slog.Group("req", slog.String("method", "GET"), slog.Group("auth", slog.String("user", "ann"))),
			slog.Group("empty"),
		}},
		{slog.Level(-8), "trace", []slog.Attr{slog.Int("n", 1)}},
		{slog.Level(12), "fatal-level", nil},
		{slog.LevelDebug, "bad utf8 \xff", []slog.Attr{slog.String("k\xfe", "v\xc3")}},
	}
	ctx := context.Background()
	for _, r := range records {
		rec := slog.NewRecord(at, r.level, r.msg, 0)
		rec.AddAttrs(r.attrs...)
		require.NoError(t, theirs.Handle(ctx, rec))
		require.NoError(t, ours.Handle(ctx, rec))
	}
	withAttrs := func(h slog.Handler) slog.Handler {
		return h.WithAttrs([]slog.Attr{slog.String("region", "eu")}).WithGroup("g")
	}
	rec := slog.NewRecord(at, slog.LevelInfo, "scoped", 0)
	rec.AddAttrs(slog.Int("x", 1))
	require.NoError(t, withAttrs(theirs).Handle(ctx, rec))
	require.NoError(t, withAttrs(ours).Handle(ctx, rec))

	_, err = e.Shutdown(ctx)
	require.NoError(t, err)
	wantLines := strings.Split(strings.TrimSpace(want.String()), "\n")
	gotLines := strings.Split(strings.TrimSpace(got.String()), "\n")
	require.Len(t, gotLines, len(wantLines))
	for i := range wantLines {
		require.Equal(t, wantLines[i], gotLines[i], "record %d", i)
	}
}
