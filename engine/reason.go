package engine

// Reason says why an event was dropped. Every dropped event is counted
// under exactly one reason, per sink, and each reason names one cause,
// wherever in the pipeline the event was when it was lost.
type Reason uint8

const (
	// QueueFullOldest: accepted, then evicted from a full shard to make
	// room for a newer event (ring.DropOldest, or ring.Block shedding an
	// event logged under a drop policy).
	QueueFullOldest Reason = iota
	// QueueFullNewest: refused by a shard that was full for its policy
	// (ring.DropNewest; ring.DropOldest when the oldest event is
	// protected, still being released, or its room reserved for a parked
	// Block call).
	QueueFullNewest
	// BlockTimeout: a ring.Block call found no room before its wait ended
	// (the block timeout, or the call's context under
	// WithContextBoundsWait).
	BlockTimeout
	// SinkLagging: the sink did not take its batches in time (its lane
	// stayed full past the lag or block timeout, or it was already marked
	// lagging), so the flusher went on without it. Counted for that sink
	// alone.
	SinkLagging
	// BelowSinkLevel: below the sink's run-time level (SinkLevelVar) when
	// its writer reached it.
	BelowSinkLevel
	// Filtered: rejected by a filter.
	Filtered
	// Shutdown: still pending when Shutdown's deadline ran out, wherever
	// it was (the queue, a lane, a writer's merge, a Write that was
	// abandoned before it started).
	Shutdown
	// Closed: logged after Shutdown closed the engine.
	Closed
	numReasons
)

var reasonNames = [numReasons]string{"queue-full-oldest", "queue-full-newest", "block-timeout", "sink-lagging", "below-sink-level", "filtered", "shutdown", "closed"}

// Reasons returns every reason, in order.
func Reasons() []Reason {
	rs := make([]Reason, numReasons)
	for i := range rs {
		rs[i] = Reason(i)
	}
	return rs
}

// String names the reason as metrics and reports write it.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}
