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
	// WithContextBoundsWait): no slot in its shard, or no room in a full
	// memory budget.
	BlockTimeout
	// SinkLagging: the sink was so far behind that its lane from a shard
	// was full (WithLaneDepth batches; by default enough to hold the whole
	// memory budget), so the flusher dropped the lane's oldest batch to
	// make room. Counted for that sink alone.
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
	// Budget: lost to the memory budget (WithMaxQueueBytes): either
	// queued for a sink that fell behind and shed, oldest first, when the
	// queued events passed the budget's trim mark (counted for that sink
	// alone), or refused at a drop-policy call because the budget was
	// full even so (a Block call waits for room up to the block timeout
	// instead, and counts BlockTimeout if none comes).
	Budget
	// TooLarge: refused at the call because the event was larger than
	// WithMaxEventBytes and WithOversizedEvents says Refuse. (Under the
	// default, Truncate, such an event is cut and delivered, and counted in
	// Truncated instead.)
	TooLarge
	// NotAttempted: the sink's Write did not attempt them (its error
	// wraps core.ErrNotAttempted: a decorator that shed them, a breaker of
	// the sink's own that was open). Counted for that sink alone.
	NotAttempted
	// BreakerOpen: the sink's circuit breaker was open (it failed too
	// often; see SinkBreaker) and the sink has no fallback. Counted for
	// that sink alone.
	BreakerOpen
	numReasons
)

var reasonNames = [numReasons]string{"queue-full-oldest", "queue-full-newest", "block-timeout", "sink-lagging", "below-sink-level", "filtered", "shutdown", "closed", "budget", "too-large", "not-attempted", "breaker-open"}

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
