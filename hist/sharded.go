package hist

import "fmt"

// Sharded records from many goroutines at once by giving each its own
// Recorder: index i of a Sharded of n is a Recorder with its own writer,
// and Snapshot and Cumulative merge all n.
//
// Each index must have one writer at a time, as for any Recorder; two
// goroutines recording into the same index corrupt its histogram. Callers
// pick the index (the engine uses the shard or worker number), so the
// record path needs no coordination between writers.
//
// The Recorders of a Sharded share its reading side: Recorder(i).Snapshot
// and Recorder(i).Cumulative are the Sharded's, merged over every index.
// A Sharded must not be copied. Create it with NewSharded or
// NewLatencySharded.
type Sharded struct {
	rd *reader
}

// NewSharded returns a Sharded of n Recorders, each tracking values from
// lowest to highest with sigfigs significant digits, as NewRecorder. n must
// be at least 1. An invalid argument is refused with an error naming it.
func NewSharded(n int, lowest, highest int64, sigfigs int) (*Sharded, error) {
	if n < 1 {
		return nil, fmt.Errorf("hist: n (%d) must be >= 1", n)
	}
	if err := validate(lowest, highest, sigfigs); err != nil {
		return nil, err
	}
	return &Sharded{rd: newReader(n, lowest, highest, sigfigs)}, nil
}

// NewLatencySharded returns a Sharded of n latency Recorders, with the
// settings of NewLatencyRecorder.
func NewLatencySharded(n int) (*Sharded, error) {
	return NewSharded(n, latencyLowest, latencyHighest, latencySigFigs)
}

// Len returns the number of indexes.
func (s *Sharded) Len() int { return len(s.rd.recs) }

// Recorder returns the Recorder of index i, which must be in [0, Len()).
// The same index always returns the same Recorder.
func (s *Sharded) Recorder(i int) *Recorder {
	if i < 0 || i >= len(s.rd.recs) {
		panic(fmt.Sprintf("hist: index %d out of range [0, %d)", i, len(s.rd.recs)))
	}
	return s.rd.recs[i]
}

// Snapshot returns the values recorded at every index since the previous
// Snapshot, merged, and adds them to the cumulative total. The indexes are
// retired one after the other, so the cut is not a single instant, but each
// value is in exactly one interval.
func (s *Sharded) Snapshot() *Snapshot { return s.rd.snapshot() }

// Cumulative returns every value recorded at every index since creation. It
// does not take anything from the next Snapshot.
func (s *Sharded) Cumulative() *Snapshot { return s.rd.cumulative() }
