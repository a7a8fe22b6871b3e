package stress

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
)

// Every event the suite logs carries its producer ("p") and that
// producer's sequence number ("s", from 0, one per call in call order),
// as event fields or in the logger's scope. A recorder checks them as the
// sink receives them.

// levels are the levels producers log at, lowest first.
var levels = []shardlog.Level{shardlog.LevelTrace, shardlog.LevelDebug, shardlog.LevelInfo, shardlog.LevelWarn, shardlog.LevelError}

// producers is how many goroutines log in the load scenarios: four per
// processor, so that they are descheduled between claim and publish and
// migrate between shards.
func producers() int { return 4 * runtime.GOMAXPROCS(0) }

// ids returns the producer and sequence number of ev.
func ids(ev *core.Event) (p, s int64, ok bool) {
	var hasP, hasS bool
	look := func(fs []core.Field) {
		for _, f := range fs {
			switch f.Key {
			case "p":
				p, hasP = f.Int64(), true
			case "s":
				s, hasS = f.Int64(), true
			}
		}
	}
	look(ev.Fields())
	if ev.Scope != nil {
		for _, fr := range ev.Scope.Frames {
			look(fr.Fields)
		}
	}
	return p, s, hasP && hasS
}

// isLossMarker tells the engine's loss marker (SinkLossMarker) apart.
func isLossMarker(ev *core.Event) bool { return ev.Logger == "shardlog" && ev.Message == "events lost" }

// prodLog is what a recorder saw of one producer.
type prodLog struct {
	seen []uint64 // bitset of sequence numbers
	last int64
	n    int
}

// recorder keeps what a sink was handed and checks it event by event: no
// event twice (per producer and sequence number), each producer's events
// in the order they were logged, and timestamps (Mono) never going
// backwards: the order docs/DESIGN.md ("Order") promises at every sink.
// Problems are kept, the first few in full, and reported by check.
type recorder struct {
	name string
	// Set before the engine starts:
	keepLines bool // keep each event's line (lineRecorder)
	keepIDs   bool // keep each event's identity, level and Mono
	// inspect, when set, checks each event; a non-empty result is a
	// problem.
	inspect func(ev *core.Event) string

	n atomic.Int64 // events recorded (markers excluded)

	mu       sync.Mutex
	prods    map[int64]*prodLog
	lastMono int64
	// the previous event, for the report of an order violation
	lastLevel    core.Level
	lastP, lastS int64
	markers      int
	byLevel      map[core.Level]int
	lines        [][]byte
	idents       []ident
	problems     []string
	nProb        int
}

// ident is an event as a recorder with keepIDs keeps it.
type ident struct {
	mono  int64
	level core.Level
	p, s  int64
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, prods: make(map[int64]*prodLog), byLevel: make(map[core.Level]int), lastMono: -1 << 63}
}

func (r *recorder) problem(format string, args ...any) {
	r.nProb++
	if len(r.problems) < 10 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

// record checks and keeps a batch that reached the destination.
func (r *recorder) record(b []core.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range b {
		ev := b[i].Event
		if isLossMarker(ev) {
			r.markers++
			continue
		}
		p, s, ok := ids(ev)
		if ev.Mono < r.lastMono {
			msg := fmt.Sprintf("%s: timestamp order: %v event (producer %d, sequence %d) with Mono %d after Mono %d (%v, producer %d, sequence %d), %v earlier; in a batch of %d at %d",
				r.name, ev.Level, p, s, ev.Mono, r.lastMono, r.lastLevel, r.lastP, r.lastS, time.Duration(r.lastMono-ev.Mono), len(b), i)
			r.problem("%s", msg)
		}
		r.lastMono, r.lastLevel, r.lastP, r.lastS = ev.Mono, ev.Level, p, s
		if !ok {
			r.problem("%s: phantom event without producer/sequence: %q", r.name, ev.Message)
			continue
		}
		pl := r.prods[p]
		if pl == nil {
			pl = &prodLog{last: -1}
			r.prods[p] = pl
		}
		if s < 0 {
			r.problem("%s: producer %d: negative sequence %d", r.name, p, s)
			continue
		}
		w := int(s / 64)
		if w >= len(pl.seen) {
			pl.seen = append(pl.seen, make([]uint64, w+1-len(pl.seen))...)
		}
		if pl.seen[w]&(1<<(s%64)) != 0 {
			r.problem("%s: producer %d: sequence %d received twice", r.name, p, s)
		}
		pl.seen[w] |= 1 << (s % 64)
		if s <= pl.last {
			r.problem("%s: producer %d: sequence %d after %d (out of order)", r.name, p, s, pl.last)
		}
		pl.last = s
		pl.n++
		if r.inspect != nil {
			if msg := r.inspect(ev); msg != "" {
				r.problem("%s: producer %d, sequence %d: %s", r.name, p, s, msg)
			}
		}
		r.byLevel[ev.Level]++
		if r.keepIDs {
			r.idents = append(r.idents, ident{ev.Mono, ev.Level, p, s})
		}
		if r.keepLines {
			r.lines = append(r.lines, slices.Clone(b[i].Line))
		}
		r.n.Add(1)
	}
}

// has reports whether the recorder holds event (p, s).
func (r *recorder) has(p, s int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	pl := r.prods[p]
	if pl == nil || s < 0 || int(s/64) >= len(pl.seen) {
		return false
	}
	return pl.seen[s/64]&(1<<(s%64)) != 0
}

// check fails the test on any problem seen, and on phantoms: events of a
// producer that did not exist or with a sequence number it never logged
// (calls[p] is how many calls producer p made).
func (r *recorder) check(t *testing.T, calls map[int64]int64) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, pl := range r.prods {
		n, ok := calls[p]
		if !ok {
			r.problem("%s: phantom producer %d (%d events)", r.name, p, pl.n)
			continue
		}
		if pl.last >= n {
			r.problem("%s: producer %d: phantom sequence %d, it made %d calls", r.name, p, pl.last, n)
		}
	}
	if r.nProb > 0 {
		t.Fatalf("%s: %d problems, the first:\n%s", r.name, r.nProb, joinLines(r.problems))
	}
}

func joinLines(ss []string) string {
	out := ""
	for _, s := range ss {
		out += "  " + s + "\n"
	}
	return out
}

// last is the highest sequence number of producer p the recorder holds,
// -1 for none.
func (r *recorder) last(p int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pl := r.prods[p]; pl != nil {
		return pl.last
	}
	return -1
}

// count is how many events the recorder holds.
func (r *recorder) count() int { return int(r.n.Load()) }

// at is how many events at level l the recorder holds.
func (r *recorder) at(l core.Level) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byLevel[l]
}

// lossMarkers is how many loss markers the recorder was handed.
func (r *recorder) lossMarkers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.markers
}

// union checks that no event is in both a and b (a sink and its fallback:
// an event is written or diverted, never both) and returns how many are in
// either.
func union(t *testing.T, a, b *recorder) int {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	both := 0
	for p, pa := range a.prods {
		pb := b.prods[p]
		if pb == nil {
			continue
		}
		for w := range min(len(pa.seen), len(pb.seen)) {
			x := pa.seen[w] & pb.seen[w]
			for ; x != 0; x &= x - 1 {
				both++
			}
		}
	}
	require.Zero(t, both, "%s and %s both received %d events", a.name, b.name, both)
	return int(a.n.Load() + b.n.Load())
}

// Write records the batch; a recorder is a sink that always succeeds.
func (r *recorder) Write(_ context.Context, b []core.Entry) (int, error) {
	r.record(b)
	return len(b), nil
}
func (r *recorder) Flush(context.Context) error { return nil }
func (r *recorder) Close(context.Context) error { return nil }

// lineRecorder is a recorder that asks the engine for JSON lines and keeps
// them.
type lineRecorder struct{ *recorder }

func newLineRecorder(name string) lineRecorder {
	r := newRecorder(name)
	r.keepLines = true
	return lineRecorder{r}
}

func (lineRecorder) Encoder() core.Encoder { return shardlog.JSON{} }

// faultKind is what one call of a faultySink does.
type faultKind uint8

const (
	writeOK    faultKind = iota
	writeHalf            // write the first half, then fail
	writeFail            // write nothing, fail
	writePanic           // panic before writing anything
	writeHang            // write nothing until ctx ends, return its error
)

var errInjected = errors.New("stress: injected failure")

// faultySink misbehaves as fault says for each call (numbered from 1) and
// records what it did write. While stalled (stall, until open) it holds
// every call until it is opened or the call's context ends (a stalled peer
// that honours ctx); delay slows every call the same way.
type faultySink struct {
	rec   *recorder
	fault func(call int64) faultKind
	delay time.Duration

	mu   sync.Mutex
	gate chan struct{} // nil, or closed: not stalled

	calls, panics, hangs, fails atomic.Int64
	entered                     chan struct{}
	once                        sync.Once
}

func newFaultySink(name string, fault func(call int64) faultKind) *faultySink {
	if fault == nil {
		fault = func(int64) faultKind { return writeOK }
	}
	return &faultySink{rec: newRecorder(name), fault: fault, entered: make(chan struct{})}
}

func (s *faultySink) Write(ctx context.Context, b []core.Entry) (int, error) {
	s.once.Do(func() { close(s.entered) })
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, fmt.Errorf("stress: stalled: %w", ctx.Err())
		}
	}
	if s.delay > 0 {
		tm := time.NewTimer(s.delay)
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return 0, fmt.Errorf("stress: slow: %w", ctx.Err())
		}
	}
	switch s.fault(s.calls.Add(1)) {
	case writeHalf:
		s.fails.Add(1)
		n := len(b) / 2
		s.rec.record(b[:n])
		return n, errInjected
	case writeFail:
		s.fails.Add(1)
		return 0, errInjected
	case writePanic:
		s.panics.Add(1)
		panic("stress: sink exploded")
	case writeHang:
		s.hangs.Add(1)
		<-ctx.Done()
		return 0, fmt.Errorf("stress: hung: %w", ctx.Err())
	}
	s.rec.record(b)
	return len(b), nil
}
func (s *faultySink) Flush(context.Context) error { return nil }
func (s *faultySink) Close(context.Context) error { return nil }

// stall makes the sink hold its calls until open.
func (s *faultySink) stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = make(chan struct{})
}

// open ends a stall; it may be called more than once.
func (s *faultySink) open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// tally counts a producer's calls per level.
type tally struct {
	byLevel [5]atomic.Int64
}

func levelIndex(l shardlog.Level) int {
	for i, x := range levels {
		if x == l {
			return i
		}
	}
	panic(fmt.Sprintf("stress: level %v is not one the producers use", l))
}

func (c *tally) add(l shardlog.Level) { c.byLevel[levelIndex(l)].Add(1) }

// at is how many calls were made at level l.
func (c *tally) at(l shardlog.Level) int { return int(c.byLevel[levelIndex(l)].Load()) }

// atOrAbove is how many calls were made at level min or above.
func (c *tally) atOrAbove(min shardlog.Level) uint64 {
	var n int64
	for i, l := range levels {
		if l >= min {
			n += c.byLevel[i].Load()
		}
	}
	return uint64(n)
}

// run starts n producers and waits for them. A panic in a producer (a log
// call must never panic into its caller) fails the test with its stack.
func run(t *testing.T, n int, body func(p int)) {
	t.Helper()
	start(n, body)(t)
}

// start starts n producers and returns a function that waits for them
// (on the test's goroutine) and fails the test if one panicked.
func start(n int, body func(p int)) (wait func(t *testing.T)) {
	var wg sync.WaitGroup
	var panics atomic.Pointer[string]
	for p := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					s := fmt.Sprintf("producer %d panicked: %v\n%s", p, r, debug.Stack())
					panics.CompareAndSwap(nil, &s)
				}
			}()
			body(p)
		}()
	}
	return func(t *testing.T) {
		t.Helper()
		waitOrDump(t, &wg, 2*time.Minute, "producers")
		if s := panics.Load(); s != nil {
			t.Fatal(*s)
		}
	}
}

// waitOrDump waits for wg, failing with every goroutine's stack if that
// takes longer than limit (a hang, not a slow machine: limits are minutes).
func waitOrDump(t *testing.T, wg *sync.WaitGroup, limit time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		buf := make([]byte, 1<<22)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%s still running after %v: a hang\n%s", what, limit, buf)
	}
}

// shutdown shuts e down (FlushPending, bounded by a minute) and returns
// its report.
func shutdown(t *testing.T, e *shardlog.Engine) shardlog.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := e.Shutdown(ctx)
	require.NoError(t, err, "shutdown: %v", rep.Drain)
	return rep
}

// sinkStats returns the named sink's figures.
func sinkStats(t *testing.T, rep shardlog.Report, name string) shardlog.SinkStats {
	t.Helper()
	for _, s := range rep.Sinks {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sink %q in the report", name)
	return shardlog.SinkStats{}
}

// requireExact checks a sink's accounting after the engine settled: it
// accepted exactly attempted events, each has exactly one outcome,
// nothing is pending, the fallback's side adds up, and the sink really
// holds exactly what was counted written.
func requireExact(t *testing.T, s shardlog.SinkStats, attempted uint64, received int) {
	t.Helper()
	// As int64, so that testify prints decimal figures.
	n := func(u uint64) int64 { return int64(u) }
	require.Zero(t, n(s.Pending), "%s: pending: %+v", s.Name, s)
	require.Equal(t, n(attempted), n(s.Accepted), "%s: accepted is every enabled call at or above its level: %+v", s.Name, s)
	require.Equal(t, n(s.Accepted), n(s.Written+s.Diverted+s.Failed+s.Dropped.Total()), "%s: one outcome per event: %+v", s.Name, s)
	require.Equal(t, n(s.Diverted), n(s.FallbackWritten+s.FallbackFailed), "%s: diverted = fallback written + failed: %+v", s.Name, s)
	require.Equal(t, n(s.Written), int64(received), "%s: the sink holds exactly what was counted written", s.Name)
}

// requireOnlyDrops fails if s dropped events for a reason not in allowed.
func requireOnlyDrops(t *testing.T, s shardlog.SinkStats, allowed ...shardlog.Reason) {
	t.Helper()
	for _, r := range shardlog.Reasons() {
		if n := s.Dropped.Count(r); n > 0 && !slices.Contains(allowed, r) {
			t.Fatalf("%s: %d events dropped for %s, which this scenario cannot cause: %+v", s.Name, n, r, s.Dropped)
		}
	}
}

// callsOf turns per-producer call counts into the map recorder.check takes.
func callsOf(counts []int64) map[int64]int64 {
	m := make(map[int64]int64, len(counts))
	for p, n := range counts {
		m[int64(p)] = n
	}
	return m
}

// eventually polls cond every millisecond for up to limit.
func eventually(t *testing.T, limit time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: "+msg, append([]any{limit}, args...)...)
		}
		time.Sleep(time.Millisecond)
	}
}

// quiet is an error handler that discards: the suite provokes thousands
// of sink errors on purpose.
func quiet(error) {}

// problems collects what producers saw go wrong, to fail the test on its
// own goroutine.
type problems struct {
	mu    sync.Mutex
	first []string
	n     int
}

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if len(p.first) < 10 {
		p.first = append(p.first, fmt.Sprintf(format, args...))
	}
}

func (p *problems) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n > 0 {
		t.Fatalf("%d problems, the first:\n%s", p.n, joinLines(p.first))
	}
}
