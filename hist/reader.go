package hist

import (
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// reader is the reading side shared by the Recorders of one Recorder or one
// Sharded. Everything in it belongs to whoever holds mu; Record never
// touches it.
type reader struct {
	mu   sync.Mutex
	recs []*Recorder // fixed at construction

	lowest, highest int64
	sigfigs         int

	// pending holds what has been retired from the Recorders but not yet
	// returned by snapshot (what cumulative drained in between). Its
	// histogram is handed to the next Snapshot and is nil until needed.
	pending phase
	// total holds everything retired since creation; nil until needed.
	total phase
}

// newReader returns a reader with n Recorders of the given geometry, whose
// arguments have been validated.
func newReader(n int, lowest, highest int64, sigfigs int) *reader {
	rd := &reader{
		recs:    make([]*Recorder, n),
		lowest:  lowest,
		highest: highest,
		sigfigs: sigfigs,
	}
	for i := range rd.recs {
		r := &Recorder{highest: highest, rd: rd}
		r.phases[0].h = rd.newHistogram()
		r.phases[1].h = rd.newHistogram()
		rd.recs[i] = r
	}
	return rd
}

func (rd *reader) newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(rd.lowest, rd.highest, rd.sigfigs)
}

// snapshot returns what was recorded since the previous snapshot.
func (rd *reader) snapshot() *Snapshot {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.drain()
	s := newSnapshot(rd.pending.h, rd.pending.overflow)
	rd.pending = phase{} // the histogram now belongs to s
	return s
}

// cumulative returns what was recorded since creation.
func (rd *reader) cumulative() *Snapshot {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.drain()
	if rd.total.h == nil {
		return &Snapshot{}
	}
	return newSnapshot(rd.total.h.Clone(), rd.total.overflow)
}

// drain retires the active phase of every Recorder, adds its values to
// total, and moves them to pending. Recorders are retired one after the
// other, so the cut is not one instant across a Sharded; each value still
// lands in exactly one interval. Both histograms have the reader's geometry,
// so the merges drop nothing.
func (rd *reader) drain() {
	for _, r := range rd.recs {
		p := r.retire()
		if p.h.TotalCount() == 0 {
			continue // nothing recorded: skip the merges and the reset
		}
		if rd.total.h == nil {
			rd.total.h = p.h.Clone()
		} else {
			rd.total.h.Merge(p.h)
		}
		rd.total.overflow += p.overflow
		if rd.pending.h == nil {
			// Take the histogram whole rather than copy it; the Recorder
			// gets a fresh one, which costs about what clearing the old
			// one would.
			rd.pending.h, p.h = p.h, rd.newHistogram()
		} else {
			rd.pending.h.Merge(p.h)
			p.h.Reset()
		}
		rd.pending.overflow += p.overflow
		p.overflow = 0
	}
}
