package hist

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Defaults of NewLatencyRecorder and NewLatencySharded: nanoseconds from 1ns
// to one minute at 3 significant figures (a value is known to within 0.1%).
// A write slower than a minute is pathological; it is recorded as one minute
// and counted in Overflow.
const (
	latencyLowest  = 1
	latencyHighest = int64(time.Minute)
	latencySigFigs = 3
)

// Recorder records values into an HDR histogram for one writer while readers
// take snapshots concurrently.
//
// Roles: exactly one goroutine at a time calls Record (the writer; a sink's
// writer goroutine, or the owner of one index of a Sharded). Snapshot and
// Cumulative may be called from any goroutines at any time; they are
// serialized by a mutex, which is never taken by Record. Record neither
// blocks nor allocates.
//
// Mechanism: a Recorder holds two phases, each an HDR histogram with an
// overflow count. The writer records into the active phase; a reader makes
// the other phase active, waits until the writer has left the one it
// retired, and then owns that phase alone: it moves the contents out and
// clears it before it can become active again. The wait lasts for the rest
// of at most one Record call, unless the OS deschedules the writer inside
// it; then the reader sleeps until the writer has run again.
//
// Memory ordering: seq is the only word both sides modify, always by an
// atomic read-modify-write, so its changes form one total order (Go's
// atomics are sequentially consistent). The writer adds 2 on entering
// Record and records into the phase named by bit 0 of the result; the
// reader flips bit 0 and gets back e, the number of Records entered before
// the flip. A Record ordered after the flip reads the new index, and by
// observing the flip it sees everything the reader did before it, such as
// clearing that phase. Only the e Records ordered before the flip can use
// the retired phase. The writer stores its entry number in done after its
// last write to the phase, so once the reader loads done >= e, the writes of
// all e Records happen before the reader's reads. From then until its next
// flip the reader may treat the retired phase as its own plain memory. The
// hammer tests run this under the race detector.
//
// This is the writer-reader phaser idea of HdrHistogram's Java Recorder,
// written independently for a single writer: one counter word carries both
// the entry count and the active index, so the writer needs no separate load
// of the active histogram.
//
// A Recorder must not be copied. Create it with NewRecorder or
// NewLatencyRecorder, or get one from a Sharded.
type Recorder struct {
	// seq is 2 × (Record calls entered) + (index of the active phase). The
	// writer adds 2; the reader flips bit 0. See the memory-ordering note.
	seq atomic.Uint64
	// done is the number of Record calls completed; stored by the writer
	// after its last write to the phase, loaded by the reader.
	done atomic.Uint64
	// highest is the largest value recorded as itself; read-only.
	highest int64
	// phases[seq&1] belongs to the writer; the other to the reader holding
	// rd.mu. The writer does not change the h pointers, only what they
	// point to and overflow.
	phases [2]phase
	// rd reads this Recorder, and every other Recorder of the same Sharded.
	rd *reader

	// The fields above are exactly one cache line, and the allocator puts
	// 64-byte objects on 64-byte boundaries, so writers of neighbouring
	// Recorders of a Sharded do not share a line; see the size test.
}

// phase is one of a Recorder's two histograms and its overflow count.
type phase struct {
	h        *hdrhistogram.Histogram
	overflow int64
}

// NewRecorder returns a Recorder that tracks values from lowest to highest
// with sigfigs significant decimal digits. lowest, the resolution at the
// bottom of the range, must be at least 1; highest at least 2*lowest; and
// sigfigs between 1 and 5. An invalid argument is refused with an error
// naming it.
func NewRecorder(lowest, highest int64, sigfigs int) (*Recorder, error) {
	if err := validate(lowest, highest, sigfigs); err != nil {
		return nil, err
	}
	return newReader(1, lowest, highest, sigfigs).recs[0], nil
}

// NewLatencyRecorder returns a Recorder for latencies in nanoseconds, from
// 1ns to one minute at 3 significant figures. With these settings each
// histogram takes 216 KiB: a Recorder holds two, and one more for the
// cumulative total once it has been read.
func NewLatencyRecorder() *Recorder {
	r, err := NewRecorder(latencyLowest, latencyHighest, latencySigFigs)
	if err != nil {
		panic("hist: invalid latency defaults: " + err.Error())
	}
	return r
}

// validate checks the arguments of the constructors, so that hdrhistogram.New
// (which panics on some of them and clamps others) is never given bad ones.
func validate(lowest, highest int64, sigfigs int) error {
	if lowest < 1 {
		return fmt.Errorf("hist: lowest (%d) must be >= 1", lowest)
	}
	// highest/2 < lowest is highest < 2*lowest without overflowing.
	if highest/2 < lowest {
		return fmt.Errorf("hist: highest (%d) must be >= 2*lowest (%d)", highest, lowest)
	}
	if sigfigs < 1 || sigfigs > 5 {
		return fmt.Errorf("hist: sigfigs (%d) must be between 1 and 5", sigfigs)
	}
	// The histogram keeps unit resolution up to 2*10^sigfigs units of the
	// largest power of two <= lowest; that must fit in 62 bits.
	unit := bits.Len64(uint64(lowest)) - 1
	sub := int(math.Ceil(math.Log2(2*math.Pow10(sigfigs)))) - 1
	if unit+sub > 61 {
		return fmt.Errorf("hist: lowest (%d) is too large for sigfigs (%d)", lowest, sigfigs)
	}
	return nil
}

// Record records v. A v above the highest trackable value is recorded as
// that value and counted in Overflow; a negative v is recorded as 0.
//
// Only one goroutine may call Record at a time. Record takes no lock,
// does not allocate, and never waits for a reader.
func (r *Recorder) Record(v int64) {
	over := v > r.highest
	if over {
		v = r.highest
	} else if v < 0 {
		v = 0
	}
	s := r.seq.Add(2)
	p := &r.phases[s&1]
	if over {
		p.overflow++
	}
	// v is within [0, highest], which the histogram was sized for, so
	// RecordValue cannot fail.
	_ = p.h.RecordValue(v)
	r.done.Store(s >> 1)
}

// Snapshot returns the values recorded since the previous Snapshot (or
// since creation), and adds them to the cumulative total. For a Recorder
// of a Sharded it returns the Sharded's Snapshot, merged over all indexes.
//
// An interval is handed out once: with several callers of Snapshot, each
// gets a different part of the stream. Give one consumer the intervals and
// let the others use Cumulative.
func (r *Recorder) Snapshot() *Snapshot { return r.rd.snapshot() }

// Cumulative returns every value recorded since creation, up to this call.
// It does not take anything from the next Snapshot. For a Recorder of a
// Sharded it returns the Sharded's Cumulative.
func (r *Recorder) Cumulative() *Snapshot { return r.rd.cumulative() }

// retire makes r's other phase active and returns the one it replaces once
// the writer has left it. The caller must hold r.rd.mu, and owns the
// returned phase until its next call of retire.
func (r *Recorder) retire() *phase {
	// Only readers change bit 0, and they hold rd.mu, so this bit is stable.
	old := r.seq.Load() & 1
	var s uint64
	if old == 0 {
		s = r.seq.Add(1)
	} else {
		s = r.seq.Add(^uint64(0)) // -1: clears bit 0, which is set
	}
	// Records 1..s>>1 may have used the old phase. The writer is inside at
	// most one of them and does not block there, so the wait is the rest of
	// one Record: yielding lets the writer finish when both share a
	// processor. If the wait goes on, the writer's thread has been
	// descheduled by the OS; sleeping then leaves it the CPU instead of
	// spinning against it.
	for spins, entered := 0, s>>1; r.done.Load() < entered; spins++ {
		if spins < retireYields {
			runtime.Gosched()
		} else {
			time.Sleep(time.Microsecond << min(spins-retireYields, 10)) // up to ~1ms
		}
	}
	return &r.phases[old]
}

// retireYields is how many times retire yields before it starts to sleep:
// far more than one Record takes on a running writer.
const retireYields = 64
