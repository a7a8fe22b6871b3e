package breaker

// The failure-rate window is count-based: a ring of WindowSize slots, each
// holding the outcome of one call of the closed state and the generation
// it belonged to (generation<<1 | failed). A shared cursor hands each call
// its slot, so the ring holds the last WindowSize calls.
//
// Tagging each slot with its generation means the window needs no reset:
// when a new closed period begins, the slots of earlier periods simply stop
// counting, and the window fills again from empty, so MinCalls applies
// afresh after every close or Reset. A result that is stale by the time it
// lands writes its own generation's tag, which no current count includes.
//
// Cost, per closed Done: one atomic add on the cursor, the one write every
// call shares and the reason the window is off by default; a load of the
// state word and of the slot; and a store only when the slot's content
// changes (a failure, or a slot last written with another outcome or in
// another period), so a healthy service that keeps succeeding only reads
// the ring. A failure then scans the ring (WindowSize loads) to take the
// rate; successes never do.
//
// Inexactness, bounded: a call that stalls between taking its slot and
// writing it can land after a call one lap later took the same slot, so
// that slot shows the older outcome; and a call whose result lands after
// the breaker moved on overwrites one slot with a tag no one counts. Each
// costs the rate one sample.

// record writes the outcome of a closed call of the generation in tw into
// the window. It reports false, recording nothing, when that generation has
// ended.
func (b *Breaker) record(tw uint64, failed bool) bool {
	if b.word.Load() != tw { // a closed generation's word never changes
		return false
	}
	n := b.cursor.Add(1) - 1
	slot := &b.window[n%uint64(len(b.window))]
	v := uint64(genOf(tw)) << 1
	if failed {
		v |= 1
	}
	if slot.Load() != v {
		slot.Store(v)
	}
	return true
}

// windowCounts counts the calls and failures of generation g in the window.
func (b *Breaker) windowCounts(g uint32) (calls, failures int) {
	for i := range b.window {
		v := b.window[i].Load()
		if uint32(v>>1) == g {
			calls++
			failures += int(v & 1)
		}
	}
	return calls, failures
}

// rateReached reports whether the window trips generation g: at least
// MinCalls calls, and failures at least FailureRate of them.
func (b *Breaker) rateReached(g uint32) bool {
	if b.window == nil {
		return false
	}
	calls, failures := b.windowCounts(g)
	return calls >= b.minCalls && float64(failures) >= b.rate*float64(calls)
}
