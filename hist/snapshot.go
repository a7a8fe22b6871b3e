package hist

import (
	"encoding/json"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Snapshot is an immutable distribution of recorded values: an interval or
// a cumulative total taken from a Recorder or a Sharded, or a merge of
// snapshots. Its methods may be called from any goroutines.
//
// Values are known to within the precision of the histogram they came from
// (for latency recorders, 3 significant figures: Min, Max and percentiles
// are exact up to 2047ns and within 0.1% above). The unit is whatever the
// writer recorded, nanoseconds for latencies.
//
// The zero value, and a nil *Snapshot, is an empty snapshot: every method
// returns 0.
type Snapshot struct {
	h        *hdrhistogram.Histogram // nil when empty; never changed once set
	overflow int64
}

// newSnapshot returns a Snapshot that takes ownership of h, which may be nil.
func newSnapshot(h *hdrhistogram.Histogram, overflow int64) *Snapshot {
	return &Snapshot{h: h, overflow: overflow}
}

// hist returns the histogram of s, nil when s is empty.
func (s *Snapshot) hist() *hdrhistogram.Histogram {
	if s == nil || s.h == nil || s.h.TotalCount() == 0 {
		return nil
	}
	return s.h
}

// Count returns the number of values recorded, overflowed ones included.
func (s *Snapshot) Count() int64 {
	if h := s.hist(); h != nil {
		return h.TotalCount()
	}
	return 0
}

// Overflow returns how many of the values were above the highest trackable
// value and were recorded as that value.
func (s *Snapshot) Overflow() int64 {
	if s == nil {
		return 0
	}
	return s.overflow
}

// Min returns the smallest value recorded.
func (s *Snapshot) Min() int64 {
	if h := s.hist(); h != nil {
		return h.Min()
	}
	return 0
}

// Max returns the largest value recorded.
func (s *Snapshot) Max() int64 {
	if h := s.hist(); h != nil {
		return h.Max()
	}
	return 0
}

// Mean returns the arithmetic mean of the values recorded.
func (s *Snapshot) Mean() float64 {
	if h := s.hist(); h != nil {
		return h.Mean()
	}
	return 0
}

// Percentile returns the value at percentile p, given from 0 to 100 (p99 is
// Percentile(99)): at least p percent of the values recorded are at or below
// it. A p outside [0, 100] is taken as the nearest bound.
func (s *Snapshot) Percentile(p float64) int64 {
	if h := s.hist(); h != nil {
		return h.ValueAtQuantile(p)
	}
	return 0
}

// P50 returns the median, Percentile(50).
func (s *Snapshot) P50() int64 { return s.Percentile(50) }

// P95 returns Percentile(95).
func (s *Snapshot) P95() int64 { return s.Percentile(95) }

// P99 returns Percentile(99).
func (s *Snapshot) P99() int64 { return s.Percentile(99) }

// P999 returns Percentile(99.9).
func (s *Snapshot) P999() int64 { return s.Percentile(99.9) }

// Merge returns a snapshot holding the values of both s and other; neither
// changes. When one of them is empty the result may be the other itself,
// which is safe as snapshots are immutable. Snapshots from histograms of
// different ranges or precisions merge into one that covers both, at the
// finer precision.
func (s *Snapshot) Merge(other *Snapshot) *Snapshot {
	a, b := s.hist(), other.hist()
	switch {
	case b == nil && s != nil:
		return s
	case a == nil && other != nil:
		return other
	case a == nil: // both empty, both nil
		return &Snapshot{}
	}
	var h *hdrhistogram.Histogram
	if sameGeometry(a, b) {
		h = a.Clone()
	} else {
		h = hdrhistogram.New(
			min(a.LowestTrackableValue(), b.LowestTrackableValue()),
			max(a.HighestTrackableValue(), b.HighestTrackableValue()),
			int(max(a.SignificantFigures(), b.SignificantFigures())),
		)
		h.Merge(a)
	}
	// h covers the ranges of a and b, so nothing is dropped.
	h.Merge(b)
	return newSnapshot(h, s.overflow+other.overflow)
}

func sameGeometry(a, b *hdrhistogram.Histogram) bool {
	return a.LowestTrackableValue() == b.LowestTrackableValue() &&
		a.HighestTrackableValue() == b.HighestTrackableValue() &&
		a.SignificantFigures() == b.SignificantFigures()
}

// snapshotJSON is the exported form of a Snapshot.
type snapshotJSON struct {
	Count    int64   `json:"count"`
	Min      int64   `json:"min"`
	Max      int64   `json:"max"`
	Mean     float64 `json:"mean"`
	P50      int64   `json:"p50"`
	P95      int64   `json:"p95"`
	P99      int64   `json:"p99"`
	P999     int64   `json:"p999"`
	Overflow int64   `json:"overflow"`
}

// MarshalJSON encodes s as an object with the fields count, min, max, mean,
// p50, p95, p99, p999 and overflow, in the unit recorded (nanoseconds for
// latencies). An empty snapshot has every field 0.
func (s *Snapshot) MarshalJSON() ([]byte, error) {
	return json.Marshal(snapshotJSON{
		Count:    s.Count(),
		Min:      s.Min(),
		Max:      s.Max(),
		Mean:     s.Mean(),
		P50:      s.P50(),
		P95:      s.P95(),
		P99:      s.P99(),
		P999:     s.P999(),
		Overflow: s.Overflow(),
	})
}

// Sub returns the values of s that are not in prev, where prev is an
// earlier cumulative snapshot of the same recorder (so every bucket of
// prev is at most that of s): an interval computed by a reader that keeps
// its own previous snapshot, so that several readers each get their own
// intervals and none drains the recorder for the others. A nil or empty
// prev returns s. Snapshots of different geometries are not comparable;
// Sub then returns s.
func (s *Snapshot) Sub(prev *Snapshot) *Snapshot {
	a, b := s.hist(), prev.hist()
	if a == nil || b == nil || !sameGeometry(a, b) {
		if s == nil {
			return &Snapshot{}
		}
		return s
	}
	ea, eb := a.Export(), b.Export()
	for i := range ea.Counts {
		if i < len(eb.Counts) {
			ea.Counts[i] = max(0, ea.Counts[i]-eb.Counts[i])
		}
	}
	return newSnapshot(hdrhistogram.Import(ea), max(0, s.overflow-prev.overflow))
}

// CountAtOrBelow returns how many of the values are at or below v, at the
// histogram's precision: values equivalent to v (in v's bucket) count as v,
// and overflowed ones as the highest trackable value. A negative v, or an
// empty snapshot, returns 0. It allocates nothing: it binary-searches the
// ranks with the histogram's percentile scan.
func (s *Snapshot) CountAtOrBelow(v int64) int64 {
	h := s.hist()
	if h == nil || v < 0 {
		return 0
	}
	total := h.TotalCount()
	// atOrBelow(r): the r-th smallest value (r >= 1) is at or below v.
	// The percentile is mapped back to rank r exactly while total < 2^50.
	atOrBelow := func(r int64) bool {
		x := h.ValueAtPercentile(float64(r) * 100 / float64(total))
		return x <= v || h.ValuesAreEquivalent(x, v)
	}
	if atOrBelow(total) {
		return total
	}
	lo, hi := int64(0), total // the answer is in [lo, hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if atOrBelow(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
