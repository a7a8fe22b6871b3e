package engine

// Reason says why an event was dropped. Every dropped event is counted
// under exactly one reason, per sink.
type Reason uint8

const (
	// QueueFullOldest: evicted from a full shard by a newer event
	// (ring.DropOldest).
	QueueFullOldest Reason = iota
	// QueueFullNewest: refused by a full shard (ring.DropNewest), or a
	// ring.Block call whose context or block deadline ended first, or a
	// batch refused by the sink's own full lane (the sink was lagging).
	QueueFullNewest
	// Filtered: rejected by a filter.
	Filtered
	// Shutdown: still pending when Shutdown's deadline ran out.
	Shutdown
	// Closed: logged after the engine was shut down.
	Closed
	numReasons
)

var reasonNames = [numReasons]string{"queue-full-oldest", "queue-full-newest", "filtered", "shutdown", "closed"}

// String names the reason as metrics and reports write it.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}
