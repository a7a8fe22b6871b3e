package bench

import (
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/diode"
)

// zerologFormat is how zerolog writes the event with its defaults:
// "message", and durations as float milliseconds
// (zerolog.DurationFieldUnit, zerolog.DurationFieldInteger).
var zerologFormat = format{
	timeKey: "time", levelKey: "level", level: "info", msgKey: "message",
	took: millisFloat, when: rfc3339Seconds,
}

// zerologPeer is zerolog writing synchronously: zerolog.New(w) with a
// timestamp. A log call encodes on the caller's goroutine and calls
// out.Write itself, concurrently with the other callers; there is nothing
// to deliver. The timestamp is zerolog's default, RFC 3339 to the second
// (zerolog.TimeFieldFormat), cheaper to write than the nanoseconds of
// slog and shardlog; the benchmarks keep the default, as users do.
var zerologPeer = peer{
	name:      "zerolog",
	lossless:  true,
	exactLoss: true,
	format:    zerologFormat,
	build:     newZerolog,
}

func newZerolog(out *lineCounter) (*subject, error) {
	l := zerolog.New(out).With().Timestamp().Logger()
	return &subject{
		out:     out,
		log:     func(i int) { logZerolog(&l, i) },
		deliver: func() error { return nil },
		lost:    func() int64 { return 0 },
		close:   func() {},
	}, nil
}

func logZerolog(l *zerolog.Logger, i int) {
	l.Info().Str("method", eventMethod).Int("status", eventStatus).Dur("took", eventTook).
		Int("bytes", i).Bool("cached", eventCached).Msg(eventMessage)
}

// The diode as zerolog's README sets it up: 1000 slots, polled every 10ms.
const (
	diodeSize = 1000
	diodePoll = 10 * time.Millisecond
)

// zerologDiodePeer is zerolog through diode.NewWriter, its asynchronous,
// lossy writer: a log call encodes on the caller's goroutine, copies the
// line into a pooled buffer and stores it in a lock-free ring of
// diodeSize slots; one goroutine polls the ring every diodePoll and
// writes. When writers lap the reader the oldest lines are overwritten.
//
// Loss is what the diode reports to its alert callback, which is how
// zerolog reports it: the reader, on finding that writers have lapped it,
// skips ahead and reports the sequence numbers it skipped. That count is
// not exact under contention: a writer whose slot was taken from under
// it abandons its sequence number and takes another, so the reader may
// count a number that never held an event, or stop at it when the diode
// is closed and leave the lines behind it unwritten and unreported. The
// benchmarks therefore take delivered events from the destination, and
// report the difference (unaccounted/attempted).
//
// The diode has no flush: deliver closes it, which drains the ring and
// stops the reader.
var zerologDiodePeer = peer{
	name:      "zerolog-diode",
	lossless:  false,
	exactLoss: false,
	format:    zerologFormat,
	build:     newZerologDiode,
}

func newZerologDiode(out *lineCounter) (*subject, error) {
	var lost atomic.Int64
	w := diode.NewWriter(out, diodeSize, diodePoll, func(missed int) { lost.Add(int64(missed)) })
	l := zerolog.New(w).With().Timestamp().Logger()
	return &subject{
		out:     out,
		log:     func(i int) { logZerolog(&l, i) },
		deliver: w.Close,
		lost:    lost.Load,
		close:   func() { _ = w.Close() }, // a second Close does nothing
	}, nil
}
