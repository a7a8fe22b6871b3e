package bench

import (
	"testing"
	"time"

	"github.com/shardlog/shardlog"
)

// The event every logger under test writes: message "request handled"
// and five fields, method="GET", status=200, took=1.5ms, bytes=i and
// cached=false, at level info. Only bytes varies, so that the output test
// can tell the events apart.
const (
	eventMessage = "request handled"
	eventMethod  = "GET"
	eventStatus  = 200
	eventTook    = 1500 * time.Microsecond
	eventCached  = false
)

// subject is one logger under test, set up to write the event as JSON
// lines to out. The benchmark loops call only these functions, so they
// are the same for every logger.
type subject struct {
	out *lineCounter
	// log logs the event with bytes=i. It is safe for concurrent use.
	log func(i int)
	// deliver returns once every event logged before it is in out or
	// counted as lost. It is called once, after the last log call: for
	// some loggers it ends the logger (zerolog's diode has no flush, only
	// a Close that drains it).
	deliver func() error
	// lost is the number of events the logger reports it lost, by its
	// own account; 0 for a logger that cannot lose one.
	lost func() int64
	// close releases the logger's goroutines; it may follow deliver or
	// replace it, and runs once, at the end of the test or benchmark.
	close func()
}

// delivered is the number of events that reached the destination:
// complete lines, one per event.
func (s *subject) delivered() int64 { return s.out.Lines() }

// peer names a logger configuration and builds subjects of it.
type peer struct {
	// name is the logger=<name> of the benchmarks.
	name string
	// lossless: a log call waits rather than lose an event, so every
	// event logged is delivered. Only these run in BenchmarkCapacity.
	lossless bool
	// exactLoss: lost() counts exactly the events that were logged and
	// not delivered. True for every logger here except zerolog's diode;
	// see newZerologDiode.
	exactLoss bool
	// format is how this logger writes the event (TestOutput).
	format format
	// build sets the logger up to write to out.
	build func(out *lineCounter) (*subject, error)
}

// peers are the loggers under test: the three peers and log/slog with
// their common fast setups, log/slog in front of shardlog's handler,
// shardlog on both queues with each overflow policy, and shardlog's
// defaults with write coalescing.
var peers = []peer{
	zapPeer,
	zerologPeer,
	zerologDiodePeer,
	slogPeer,
	slogShardlogPeer,
	shardlogPeer(shardlog.LockFree, shardlog.DropOldest),
	shardlogPeer(shardlog.LockFree, shardlog.DropNewest),
	shardlogPeer(shardlog.LockFree, shardlog.Block),
	shardlogPeer(shardlog.MutexQueue, shardlog.DropOldest),
	shardlogPeer(shardlog.MutexQueue, shardlog.DropNewest),
	shardlogPeer(shardlog.MutexQueue, shardlog.Block),
	shardlogCoalescingPeer,
}

// newSubject builds a subject of p writing to a fresh destination (one
// that keeps a copy of what it is given when keep is set) and closes it
// when tb ends.
func newSubject(tb testing.TB, p peer, keep bool) *subject {
	tb.Helper()
	s, err := p.build(newLineCounter(keep))
	if err != nil {
		tb.Fatalf("%s: %v", p.name, err)
	}
	tb.Cleanup(s.close)
	return s
}
