package engine

import (
	"time"

	"github.com/shardlog/shardlog/core"
)

// A loss marker is an in-band record that tells someone reading only a
// sink's output that events are missing: when the sink has lost events
// since its last marker, the next batch it receives starts with one
// record (level WARN, logger "shardlog", message "events lost") whose
// fields count the losses by reason. Filtered events and events below
// the sink's run-time level are choices, not losses, and are not
// reported. A marker is counted (SinkStats.Markers), is never an
// accepted event, and is never itself a cause of loss: it rides in a
// batch that is being written anyway.

// markerMessage is the message of a loss marker.
const markerMessage = "events lost"

// markerLogger is the logger name of a loss marker.
const markerLogger = "shardlog"

// lossReasons are the reasons a marker reports.
var lossReasons = [...]Reason{QueueFullOldest, QueueFullNewest, BlockTimeout, SinkLagging, Shutdown, Closed,
	Budget, TooLarge, NotAttempted, BreakerOpen}

// prepareMarker puts a marker at the front of w.entries when the sink
// has lost events since the last marker it wrote. It reports whether it
// did; the new totals are kept in w.markerPending until the write
// succeeds.
func (w *sinkWriter) prepareMarker() bool {
	if !w.marker || len(w.entries) == 0 {
		return false
	}
	d := w.e.sinkDrops(w)
	ev := &w.markerEvent
	ev.Reset()
	var fields [len(lossReasons)]core.Field
	n := 0
	for _, r := range lossReasons {
		if delta := d.Count(r) - w.markerSeen.Count(r); delta > 0 {
			fields[n] = core.Uint64(r.String(), delta)
			n++
		}
	}
	if n == 0 {
		return false
	}
	// The marker goes first in the batch: it takes the first event's
	// time and Mono, so the sink's printed times stay in the order it
	// receives records (the clock now would run ahead of the batch by the
	// pipeline's latency).
	ev.Time = w.entries[0].Event.Time
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Mono = w.entries[0].Event.Mono
	ev.Level = core.LevelWarn
	ev.Message = markerMessage
	ev.Logger = markerLogger
	ev.SetFields(fields[:n])
	ent := core.Entry{Event: ev}
	if w.enc >= 0 {
		line, ok := appendEncoded(w.e.encoders[w.enc], w.markerLine[:0], ev, w.e)
		if !ok {
			// The encoder panicked on the marker (recovered and reported):
			// no marker with this batch; the losses stay to report.
			return false
		}
		w.markerLine = line
		ent.Line = w.markerLine
	}
	w.entries = append(w.entries, core.Entry{})
	copy(w.entries[1:], w.entries)
	w.entries[0] = ent
	w.markerPending = d
	return true
}
