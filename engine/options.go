package engine

import (
	"context"
	"fmt"
	"os"
	"time"
	"unicode/utf8"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/ring"
)

// Option configures an Engine. Options are applied in order; an option
// given twice keeps the last value, except WithSink, WithEnricher,
// WithFilter, WithContextExtractor and WithOverflowAt, which add.
// New validates the result and names the offending option in its error.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// QueueKind selects the queue between callers and flushers.
type QueueKind uint8

const (
	// LockFree is the sharded lock-free ring (ring.Ring). The default.
	LockFree QueueKind = iota
	// MutexQueue is the original design's mutex queue (ring.Mutex), kept
	// for comparison.
	MutexQueue
)

// String names the queue kind as ParseQueueKind reads it.
func (k QueueKind) String() string {
	if k == MutexQueue {
		return "mutex"
	}
	return "lockfree"
}

// ParseQueueKind reads "lockfree" or "mutex".
func ParseQueueKind(s string) (QueueKind, error) {
	switch s {
	case "lockfree":
		return LockFree, nil
	case "mutex":
		return MutexQueue, nil
	}
	return 0, fmt.Errorf("engine: unknown queue %q (want lockfree or mutex)", s)
}

// Enricher adds fields to an event in the pipeline (on a flusher, not on
// the caller's goroutine), with e.AddField. It must be safe for concurrent
// use and must not keep e.
type Enricher func(e *core.Event)

// Filter keeps an event when it returns true. It runs in the pipeline, after
// the enrichers; a rejected event is counted as dropped{filtered} for the
// sinks that would have received it. It must be safe for concurrent use.
type Filter func(e *core.Event) bool

// ContextExtractor returns fields carried by ctx (a request or trace ID) to
// add to events logged with that context. It runs on the caller's
// goroutine: keep it cheap, and return a slice stored in the context rather
// than building one, so the call does not allocate. The engine copies the
// fields; the slice is not kept.
type ContextExtractor func(ctx context.Context) []core.Field

type sinkConfig struct {
	sink       core.Sink
	name       string
	minLevel   core.Level
	levelVar   *core.LevelVar // run-time level, or nil
	lossMarker bool
	timeout    time.Duration // write timeout; 0: the engine's (WithSinkWriteTimeout)
	breaker    breaker.Config
	noBreaker  bool
	retry      *RetryPolicy // nil: DefaultRetryPolicy
	fallback   core.Sink
	err        error // from a SinkOption
}

// SinkOption configures one sink given to WithSink.
type SinkOption func(*sinkConfig)

// SinkName names the sink in metrics and errors. Default: "sink<i>", i its
// position among the sinks.
func SinkName(name string) SinkOption { return func(s *sinkConfig) { s.name = name } }

// SinkBreaker configures the sink's circuit breaker (package breaker).
// Every sink has one, with breaker's defaults unless this option says
// otherwise: 5 failed writes in a row open it for 1s, then one write
// probes. A write fails when it returns an error (other than one wrapping
// core.ErrNotAttempted), runs past its write timeout, or panics. While the
// breaker is open, the sink's batches go to its fallback (SinkFallback) or
// are dropped (breaker-open), and the writer does not call the sink.
func SinkBreaker(cfg breaker.Config) SinkOption {
	return func(s *sinkConfig) {
		if _, err := breaker.New(cfg); err != nil {
			s.err = fmt.Errorf("engine: SinkBreaker: %w", err)
			return
		}
		s.breaker, s.noBreaker = cfg, false
	}
}

// SinkRetry sets how the sink's writer retries what a Write failed to
// write (RetryPolicy; DefaultRetryPolicy unless given, NoRetry for none).
func SinkRetry(p RetryPolicy) SinkOption {
	return func(s *sinkConfig) {
		if err := p.validate(); err != nil {
			s.err = fmt.Errorf("engine: SinkRetry: %w", err)
			return
		}
		s.retry = &p
	}
}

// SinkWithoutBreaker removes the sink's circuit breaker: every batch is
// handed to it whatever it did before.
func SinkWithoutBreaker() SinkOption { return func(s *sinkConfig) { s.noBreaker = true } }

// SinkFallback gives the sink a fallback: while the sink's breaker is
// open, its batches are written to fallback instead (for example a
// network sink falling back to a local file). The fallback is called by
// the sink's own writer, flushed and closed with it; it is not one of the
// engine's sinks and has no breaker of its own. The sink counts what it
// diverted (Diverted), and the fallback's outcome is counted beside it
// (FallbackWritten, FallbackFailed).
func SinkFallback(fallback core.Sink) SinkOption {
	return func(s *sinkConfig) {
		if fallback == nil {
			s.err = fmt.Errorf("engine: SinkFallback: nil sink")
			return
		}
		s.fallback = fallback
	}
}

// SinkWriteTimeout bounds each Write of this sink: the context Write
// receives ends after d (context.DeadlineExceeded), and a Write that
// returns later is counted as timed out (SinkStats.Timeouts) whatever it
// returns. Default: the engine's WithSinkWriteTimeout. Must be > 0.
func SinkWriteTimeout(d time.Duration) SinkOption {
	return func(s *sinkConfig) {
		if d <= 0 {
			s.err = fmt.Errorf("engine: SinkWriteTimeout: must be > 0, got %v", d)
			return
		}
		s.timeout = d
	}
}

// SinkLevel is the sink's minimum level: it receives events at or above it.
// Default: LevelTrace (everything the engine's level lets through).
func SinkLevel(l core.Level) SinkOption { return func(s *sinkConfig) { s.minLevel = l } }

// SinkLevelVar makes the sink take only events at or above v's level,
// read as its writer reaches each event, so the level can change at run
// time (and be served over HTTP: LevelVar.ServeHTTP). It works above the
// sink's SinkLevel (default Trace), which stays the floor the engine
// routes and counts by: an event between the floor and v's level is
// counted dropped{below-sink-level} for this sink. The engine's own level
// still gates every call first.
func SinkLevelVar(v *core.LevelVar) SinkOption {
	return func(s *sinkConfig) {
		if v == nil {
			s.err = fmt.Errorf("engine: SinkLevelVar: nil LevelVar")
			return
		}
		s.levelVar = v
	}
}

// SinkLossMarker makes the sink receive a loss marker: when it has lost
// events (queue full, block timeout, lagging, shutdown, closed) since the
// last marker, the next batch it gets starts with one WARN record from
// logger "shardlog", message "events lost", whose fields count the losses
// by reason, so someone reading only its output knows there is a gap. Off
// by default. Markers are counted (SinkStats.Markers), are not events
// (not accepted, written or dropped), and never cause a loss.
func SinkLossMarker(on bool) SinkOption { return func(s *sinkConfig) { s.lossMarker = on } }

// SinkLevelName is SinkLevel with the level given by name; an unknown name
// makes New fail.
func SinkLevelName(name string) SinkOption {
	return func(s *sinkConfig) {
		l, err := core.ParseLevel(name)
		if err != nil {
			s.err = fmt.Errorf("engine: SinkLevelName: unknown level %q", name)
			return
		}
		s.minLevel = l
	}
}

type policyRule struct {
	min    core.Level
	policy ring.Policy
}

type config struct {
	sinks      []sinkConfig
	errs       []error // errors found while applying options
	level      *core.LevelVar
	queue      QueueKind
	shards     int
	capacity   int
	policy     ring.Policy
	rules      []policyRule
	blockFor   time.Duration
	batchSize  int
	laneDepth  int
	flushEvery time.Duration
	coalesce   time.Duration // WithWriteCoalescing; 0: off
	writeFor   time.Duration // default write timeout of a sink
	maxQueue   int64         // bytes; 0 turns the budget off
	maxEvent   int
	// setMaxEvent: WithMaxEventBytes was given (else the default follows
	// a small budget).
	setMaxEvent bool
	oversize    OversizeAction
	onLimit     func(LimitExceeded)
	onError     func(error)
	addCaller   bool
	callerSkip  int
	enrichers   []Enricher
	filters     []Filter
	extractors  []ContextExtractor
	name        string
	fatalWait   time.Duration
	syncWait    time.Duration
	exit        func(code int)
	pinThreads  bool
	affinity    bool

	ctxBoundsWait bool

	setShards, setCapacity, setLaneDepth bool
}

func defaultConfig() config {
	return config{
		policy:     ring.DropOldest,
		blockFor:   100 * time.Millisecond,
		batchSize:  256,
		flushEvery: 2 * time.Millisecond,
		writeFor:   DefaultSinkWriteTimeout,
		maxQueue:   DefaultMaxQueueBytes,
		maxEvent:   DefaultMaxEventBytes,
		fatalWait:  5 * time.Second,
		syncWait:   5 * time.Second,
		exit:       os.Exit,
	}
}

func (c *config) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("engine: "+format, args...))
}

// WithSink adds a sink. Each sink gets its own writer goroutine and lanes,
// so a slow or hung sink does not delay the others.
func WithSink(s core.Sink, opts ...SinkOption) Option {
	return optionFunc(func(c *config) {
		if s == nil {
			c.errorf("WithSink: sink %d is nil", len(c.sinks))
			return
		}
		sc := sinkConfig{sink: s, name: fmt.Sprintf("sink%d", len(c.sinks)), minLevel: core.LevelTrace}
		for _, o := range opts {
			if o != nil {
				o(&sc)
			}
		}
		if sc.err != nil {
			c.errs = append(c.errs, sc.err)
			return
		}
		c.sinks = append(c.sinks, sc)
	})
}

// WithLevel sets the engine's minimum level: calls below it return after
// one atomic load and one branch. Default LevelInfo.
func WithLevel(l core.Level) Option {
	return optionFunc(func(c *config) {
		v := new(core.LevelVar)
		v.Set(l)
		c.level = v
	})
}

// WithLevelName is WithLevel with the level given by name ("debug",
// "WARN", "INFO+2" or a number), as read from configuration; an unknown
// name makes New fail.
func WithLevelName(name string) Option {
	return optionFunc(func(c *config) {
		l, err := core.ParseLevel(name)
		if err != nil {
			c.errorf("WithLevelName: unknown level %q", name)
			return
		}
		WithLevel(l).apply(c)
	})
}

// WithLevelVar makes the engine read its minimum level from v, which the
// caller may change at run time.
func WithLevelVar(v *core.LevelVar) Option {
	return optionFunc(func(c *config) {
		if v == nil {
			c.errorf("WithLevelVar: nil LevelVar")
			return
		}
		c.level = v
	})
}

// WithQueue selects the queue implementation. Default LockFree.
func WithQueue(k QueueKind) Option { return optionFunc(func(c *config) { c.queue = k }) }

// maxShards bounds WithShards (the ring's own bound).
const maxShards = 1 << 16

// WithShards sets the number of shards, a power of two up to 65536. Default:
// GOMAXPROCS rounded up to a power of two, at most ring.MaxDefaultShards
// (64). One flusher runs per shard. New refuses a configuration whose
// rings and lanes would take more than 1 GiB up front (shards ×
// capacity × ~384 bytes, plus shards × sinks × lane depth × 16 bytes).
func WithShards(n int) Option {
	return optionFunc(func(c *config) { c.shards = n; c.setShards = true })
}

// WithCapacity sets the slots per shard, a power of two >= 2. Default
// DefaultCapacity (1024). A slot is about 384 bytes, allocated by New;
// see WithShards for the bound on what New allocates.
func WithCapacity(n int) Option {
	return optionFunc(func(c *config) { c.capacity = n; c.setCapacity = true })
}

// WithOverflow sets what a call does when its shard is full: drop the
// oldest queued event (the default), refuse the new one, or block until
// space frees or the block timeout passes (or the call's context ends,
// with WithContextBoundsWait).
func WithOverflow(p ring.Policy) Option { return optionFunc(func(c *config) { c.policy = p }) }

// WithOverflowAt uses policy p for events at or above level min, overriding
// WithOverflow for them; for example Block for LevelError and above, so
// errors wait for room while debug chatter is shed. Rules add up; the one
// with the highest min that applies wins.
func WithOverflowAt(min core.Level, p ring.Policy) Option {
	return optionFunc(func(c *config) { c.rules = append(c.rules, policyRule{min, p}) })
}

// WithBlockTimeout bounds how long a Block call waits for room. Default
// 100ms. Must be > 0. A call that finds no room in time is dropped
// (block-timeout).
func WithBlockTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.blockFor = d }) }

// WithContextBoundsWait lets the context of a call (Logger.Log, slog's
// InfoContext and the like) also end a Block wait: a canceled or expired
// context then drops the event (block-timeout) if its shard is full. Off
// by default: the context supplies values only, so an error logged for a
// request whose client went away is not lost exactly when it matters.
func WithContextBoundsWait(on bool) Option {
	return optionFunc(func(c *config) { c.ctxBoundsWait = on })
}

// WithBatchSize sets how many events a flusher drains at once. Default 256.
func WithBatchSize(n int) Option { return optionFunc(func(c *config) { c.batchSize = n }) }

// WithLaneDepth sets how many batches one shard may queue for one sink.
// A flusher waits for a sink only to pace Block batches for a sink that
// is still writing (at 4 batches, or the lane's depth if smaller);
// otherwise, when a sink's lane is full, the lane's oldest batch is
// dropped for that sink (sink-lagging) to make room. By default the lanes hold as many batches as the memory budget
// can pay for, so only the budget decides (or 4 with the budget off).
// Must be in 1..65536.
func WithLaneDepth(n int) Option {
	return optionFunc(func(c *config) { c.laneDepth, c.setLaneDepth = n, true })
}

// DefaultSinkWriteTimeout is a sink's write timeout unless
// WithSinkWriteTimeout or SinkWriteTimeout says otherwise: 5s, as the
// OpenTelemetry Collector's exporters default to. A healthy sink writes a
// batch in microseconds to milliseconds; one that takes seconds is stuck,
// and its writer should learn it rather than wait for ever.
const DefaultSinkWriteTimeout = 5 * time.Second

// WithSinkWriteTimeout sets the write timeout of every sink that does not
// set its own (SinkWriteTimeout). Default DefaultSinkWriteTimeout. Must
// be > 0.
func WithSinkWriteTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.writeFor = d })
}

// WithFlushInterval bounds how long an idle flusher or sink writer sleeps
// before it looks again, and so the delivery delay of an event logged
// into an idle engine. Default 2ms.
func WithFlushInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.flushEvery = d })
}

// WithWriteCoalescing lets each sink writer, after a write of fewer events
// than a batch, wait up to d before its next write, so that a light input
// reaches the sink in fewer, larger writes: at 200 000 events/s to a file
// and d = 1ms, about 1 000 write calls a second instead of about 60 000,
// for an event delivered up to about 2d later. The wait ends at once for
// a full batch (a saturated pipeline never waits), a Flush, Sync or
// Shutdown. Every write is still counted when the sink's Write returns:
// nothing is buffered outside the engine's accounting. 0 (the default)
// writes as soon as events are ready. Must be in 0..1s.
func WithWriteCoalescing(d time.Duration) Option {
	return optionFunc(func(c *config) { c.coalesce = d })
}

// maxWriteCoalescing bounds WithWriteCoalescing.
const maxWriteCoalescing = time.Second

// WithErrorHandler receives internal errors: sink write failures, sink
// panics, encoder panics. It is called from pipeline goroutines, never
// from a logging caller, and must not log through the same engine at a
// rate that could feed back. It runs on a goroutine of its own, waited
// for: a panic is recovered, and a runtime.Goexit (t.FailNow) ends only
// that goroutine. Default: one
// line to stderr, at most one per second, with a count of those
// suppressed printed a second later (or at Shutdown).
func WithErrorHandler(f func(error)) Option { return optionFunc(func(c *config) { c.onError = f }) }

// WithCaller records the call site (file:line) of every event. Off by
// default: it costs a runtime.Callers call on the caller's path.
func WithCaller(on bool) Option { return optionFunc(func(c *config) { c.addCaller = on }) }

// WithCallerSkip skips n more frames when recording the call site, for
// wrappers around Logger.
func WithCallerSkip(n int) Option { return optionFunc(func(c *config) { c.callerSkip = n }) }

// WithEnricher adds an enricher to the pipeline. It runs on a flusher: a
// panic is recovered and reported; it must not call runtime.Goexit
// (t.FailNow), which no recover stops and which would end the flusher.
func WithEnricher(f Enricher) Option {
	return optionFunc(func(c *config) {
		if f == nil {
			c.errorf("WithEnricher: nil enricher")
			return
		}
		c.enrichers = append(c.enrichers, f)
	})
}

// WithFilter adds a filter to the pipeline. It runs on a flusher: a panic
// is recovered and reported (the event is kept); it must not call
// runtime.Goexit (t.FailNow), which would end the flusher.
func WithFilter(f Filter) Option {
	return optionFunc(func(c *config) {
		if f == nil {
			c.errorf("WithFilter: nil filter")
			return
		}
		c.filters = append(c.filters, f)
	})
}

// WithContextExtractor adds an extractor consulted by Logger.Log and the
// slog handler, which take a context.
func WithContextExtractor(f ContextExtractor) Option {
	return optionFunc(func(c *config) {
		if f == nil {
			c.errorf("WithContextExtractor: nil extractor")
			return
		}
		c.extractors = append(c.extractors, f)
	})
}

// WithName names the root logger.
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithFatalTimeout bounds how long a Fatal call waits for pending events to
// be written before the process exits. Default 5s.
func WithFatalTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.fatalWait = d }) }

// WithSyncTimeout bounds how long Logger.Sync waits. Default 5s.
func WithSyncTimeout(d time.Duration) Option { return optionFunc(func(c *config) { c.syncWait = d }) }

// WithExitFunc replaces os.Exit for Fatal (tests, or a supervisor hook).
func WithExitFunc(f func(code int)) Option {
	return optionFunc(func(c *config) {
		if f == nil {
			c.errorf("WithExitFunc: nil function")
			return
		}
		c.exit = f
	})
}

// WithPinnedFlushers locks each flusher goroutine to its OS thread
// (runtime.LockOSThread), so a busy flusher keeps its thread's caches.
// Default false: a locked thread forces a thread handoff on most
// goroutine switches, which an independent profile found costly on small
// machines, and nothing the user did not ask for should hold OS threads.
// An opt-in to measure (BenchmarkPinnedFlushers).
func WithPinnedFlushers(on bool) Option { return optionFunc(func(c *config) { c.pinThreads = on }) }

// WithFlusherAffinity additionally binds each pinned flusher's thread to
// one CPU (flusher i to the i-th CPU the process may use, modulo their
// count), on Linux. Off by default; see docs/bench/engine.md for what it
// measured. Implies WithPinnedFlushers(true). Where the system refuses,
// the flusher runs unbound and the error handler is told.
func WithFlusherAffinity(on bool) Option { return optionFunc(func(c *config) { c.affinity = on }) }

// validate checks the whole configuration; errors name the option.
func (c *config) validate() error {
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	if len(c.sinks) == 0 {
		return fmt.Errorf("engine: no sinks: add at least one with WithSink")
	}
	names := make(map[string]bool, len(c.sinks))
	for _, s := range c.sinks {
		if s.name == "" {
			return fmt.Errorf("engine: SinkName: empty name for a sink")
		}
		if !utf8.ValidString(s.name) {
			// The name labels the sink's metrics: Prometheus refuses a
			// label that is not UTF-8, and would fail every scrape.
			return fmt.Errorf("engine: SinkName: %q is not valid UTF-8", s.name)
		}
		if names[s.name] {
			return fmt.Errorf("engine: WithSink: duplicate sink name %q", s.name)
		}
		names[s.name] = true
	}
	if err := c.validateSinkIdentity(); err != nil {
		return err
	}
	if c.queue > MutexQueue {
		return fmt.Errorf("engine: WithQueue: unknown queue kind %d", c.queue)
	}
	if c.setShards && (c.shards <= 0 || c.shards&(c.shards-1) != 0) {
		return fmt.Errorf("engine: WithShards: must be a power of two > 0, got %d", c.shards)
	}
	if c.setShards && c.shards > maxShards {
		return fmt.Errorf("engine: WithShards: must be at most %d, got %d", maxShards, c.shards)
	}
	if c.setCapacity && (c.capacity < 2 || c.capacity&(c.capacity-1) != 0) {
		return fmt.Errorf("engine: WithCapacity: must be a power of two >= 2, got %d", c.capacity)
	}
	if c.policy > ring.Block {
		return fmt.Errorf("engine: WithOverflow: unknown policy %d", c.policy)
	}
	for _, r := range c.rules {
		if r.policy > ring.Block {
			return fmt.Errorf("engine: WithOverflowAt(%v): unknown policy %d", r.min, r.policy)
		}
	}
	if c.blockFor <= 0 {
		return fmt.Errorf("engine: WithBlockTimeout: must be > 0, got %v", c.blockFor)
	}
	if c.batchSize <= 0 || c.batchSize > 1<<16 {
		return fmt.Errorf("engine: WithBatchSize: must be in 1..65536, got %d", c.batchSize)
	}
	if c.laneDepth < 0 || c.laneDepth > maxLaneDepth || (c.setLaneDepth && c.laneDepth == 0) {
		return fmt.Errorf("engine: WithLaneDepth: must be in 1..%d, got %d", maxLaneDepth, c.laneDepth)
	}
	if err := c.validateBudget(); err != nil {
		return err
	}
	if c.writeFor <= 0 {
		return fmt.Errorf("engine: WithSinkWriteTimeout: must be > 0, got %v", c.writeFor)
	}
	if c.flushEvery <= 0 {
		return fmt.Errorf("engine: WithFlushInterval: must be > 0, got %v", c.flushEvery)
	}
	if c.coalesce < 0 || c.coalesce > maxWriteCoalescing {
		return fmt.Errorf("engine: WithWriteCoalescing: must be in 0..%v, got %v", maxWriteCoalescing, c.coalesce)
	}
	if c.callerSkip < 0 {
		return fmt.Errorf("engine: WithCallerSkip: must be >= 0, got %d", c.callerSkip)
	}
	if c.affinity {
		c.pinThreads = true
	}
	if c.fatalWait <= 0 {
		return fmt.Errorf("engine: WithFatalTimeout: must be > 0, got %v", c.fatalWait)
	}
	if c.syncWait <= 0 {
		return fmt.Errorf("engine: WithSyncTimeout: must be > 0, got %v", c.syncWait)
	}
	return nil
}

// validateSinkIdentity refuses a sink given twice: as two sinks, as a
// fallback of two sinks, or as a sink and a fallback. The engine calls
// each sink from one goroutine (core.Sink), and would call such a sink
// from two at once, and close it twice. Events meant for one destination
// at two levels take one sink with SinkLevel, or a Filter.
func (c *config) validateSinkIdentity() error {
	type use struct {
		sink core.Sink
		what string
	}
	var seen []use
	for i, sc := range c.sinks {
		uses := []use{{sc.sink, fmt.Sprintf("sink %d (%s)", i, sc.name)}}
		if sc.fallback != nil {
			uses = append(uses, use{sc.fallback, fmt.Sprintf("the fallback of sink %d (%s)", i, sc.name)})
		}
		for _, u := range uses {
			for _, s := range seen {
				if identical(u.sink, s.sink) {
					return fmt.Errorf("engine: WithSink: %s is %s again; a sink is written by one goroutine, so give it once (SinkLevel or WithFilter select what it gets)", u.what, s.what)
				}
			}
			seen = append(seen, u)
		}
	}
	return nil
}
