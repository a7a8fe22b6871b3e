package engine

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardlog/shardlog/budget"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/ring"
)

// Engine owns the queue, the flushers and the sink writers. Create it with
// New, log through its Logger, and end it with Shutdown. All methods are
// safe for concurrent use.
type Engine struct {
	cfg     config
	level   *core.LevelVar
	classes levelClasses
	rules   []policyRule // sorted by min, highest first
	epoch   time.Time
	wall    wallClock // maps Mono to wall time, one anchor for all flushers

	// Exactly one of lf and mq is set; the hot path calls the concrete
	// type (an interface call would make the fill closure escape).
	lf *ring.Ring[core.Event]
	mq *ring.Mutex[core.Event]
	q  ring.Queue[core.Event]

	counters []*shardCounters
	spills   []spill // per shard: events a full ring evicted, kept (spill.go)
	spillMax int     // spillBatches
	flushers []*flusher
	writers  []*sinkWriter
	encoders []core.Encoder // distinct encoders used by sinks

	errs errorReporter
	root *Logger

	budget    *budget.Budget // nil when WithMaxQueueBytes(0)
	limitWake chan struct{}  // wakes runLimitHook; nil without a hook

	state        atomic.Int32 // stateRunning, stateClosing, stateClosed
	ctrl         *drain.Controller
	flusherWG    sync.WaitGroup
	flushersDone chan struct{} // closed once every flusher has returned
	// discarding is set by an Immediate shutdown, or when a drain's
	// deadline passed: flushers count what they drain as dropped
	// (shutdown) instead of preparing it for the sinks.
	discarding atomic.Bool
}

const (
	stateRunning int32 = iota
	stateClosing
	stateClosed
)

// New builds an engine from options and starts its goroutines: one flusher
// per shard and one writer per sink. Invalid options are refused with an
// error that names the option and the value; New never panics on bad
// configuration.
func New(opts ...Option) (*Engine, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("engine: nil Option")
		}
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.level == nil {
		cfg.level = new(core.LevelVar) // LevelInfo
	}
	if !cfg.setCapacity {
		cfg.capacity = DefaultCapacity
	}
	if !cfg.setShards {
		cfg.shards = ring.DefaultShards()
	}
	var err error
	e := &Engine{
		cfg:          cfg,
		level:        cfg.level,
		classes:      newLevelClasses(cfg.sinks),
		epoch:        time.Now(),
		flushersDone: make(chan struct{}),
	}
	e.wall.init(e.epoch)
	if e.ctrl, err = e.newController(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e.errs.init(cfg.onError)
	e.rules = slices.Clone(cfg.rules)
	slices.SortStableFunc(e.rules, func(a, b policyRule) int { return cmp.Compare(b.min, a.min) }) // no subtraction: levels span the ints

	// Distinct encoders, so each event is encoded once per format.
	encIndex := make([]int, len(cfg.sinks))
	for i, sc := range cfg.sinks {
		encIndex[i] = -1
		if enc, ok := sc.sink.(core.Encoding); ok && enc.Encoder() != nil {
			encIndex[i] = e.encoderIndex(enc.Encoder())
		}
	}
	if cfg.maxQueue > 0 {
		if e.budget, err = budget.New(cfg.maxQueue); err != nil {
			return nil, fmt.Errorf("engine: WithMaxQueueBytes: %w", err)
		}
	}
	if !cfg.setLaneDepth {
		e.cfg.laneDepth = e.defaultLaneDepth()
	}
	// Before anything large is allocated: a configuration whose rings and
	// lanes would not fit is refused, not attempted (the runtime's
	// out-of-memory error would end the process).
	if err := e.checkUpFront(); err != nil {
		return nil, err
	}

	rcfg := ring.Config[core.Event]{
		Shards:       cfg.shards,
		Capacity:     cfg.capacity,
		OnEvict:      e.onEvict,
		BlockTimeout: cfg.blockFor,
	}
	if cfg.queue == MutexQueue {
		e.mq, err = ring.NewMutex(rcfg)
		e.q = e.mq
	} else {
		e.lf, err = ring.New(rcfg)
		e.q = e.lf
	}
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	shards := e.q.Shards()
	for range shards {
		e.counters = append(e.counters, newShardCounters(e.classes.count()))
	}
	e.spills = make([]spill, shards)
	e.spillMax = spillBatches(e)

	for i, sc := range cfg.sinks {
		e.writers = append(e.writers, newSinkWriter(e, i, sc, encIndex[i], shards))
	}
	for s := range shards {
		e.flushers = append(e.flushers, newFlusher(e, s))
	}
	for _, w := range e.writers {
		go w.run()
	}
	for _, f := range e.flushers {
		e.flusherWG.Add(1)
		go f.run()
	}
	if cfg.onLimit != nil && e.budget != nil {
		e.limitWake = make(chan struct{}, 1)
		go e.runLimitHook()
	}
	e.root = &Logger{e: e, name: cfg.name, policy: -1}
	return e, nil
}

// encoderIndex returns the index of enc among the distinct encoders,
// adding it if new. Encoders are compared by value when comparable (two
// format.JSON{} with the same settings share one encoding); values that
// cannot be compared are kept separate.
func (e *Engine) encoderIndex(enc core.Encoder) int {
	for j, x := range e.encoders {
		if identical(x, enc) { // an uncomparable encoder value stays separate
			return j
		}
	}
	e.encoders = append(e.encoders, enc)
	return len(e.encoders) - 1
}

// Logger returns the root logger.
func (e *Engine) Logger() *Logger { return e.root }

// LevelVar returns the variable holding the engine's minimum level; set it
// to change the level at run time.
func (e *Engine) LevelVar() *core.LevelVar { return e.level }

// Queue reports which queue the engine runs on.
func (e *Engine) Queue() QueueKind { return e.cfg.queue }

// Shards is the number of shards (and flushers).
func (e *Engine) Shards() int { return len(e.flushers) }

// Depth is the number of events waiting in all shards of the queue.
func (e *Engine) Depth() int {
	d := 0
	for s := range e.flushers {
		d += e.q.Depth(s)
	}
	return d
}

// policyFor returns the overflow policy of an event at level l.
func (e *Engine) policyFor(l core.Level) ring.Policy {
	for _, r := range e.rules {
		if l >= r.min {
			return r.policy
		}
	}
	return e.cfg.policy
}

// mono is the ordering clock: monotonic nanoseconds since the engine's
// epoch. time.Since on a time with a monotonic reading reads only the
// monotonic clock, half the cost of time.Now.
func (e *Engine) mono() int64 { return int64(time.Since(e.epoch)) }

// onEvict runs on a producer that evicted ev under DropOldest (or a Block
// call shedding an unprotected entry): the event is kept in the shard's
// spill while the budget has room; otherwise, accepted earlier, it is now
// dropped as queue-full-oldest for the sinks of its class.
func (e *Engine) onEvict(shard int, ev *core.Event) {
	if e.spillEvicted(shard, ev) {
		return // kept in memory; the flusher takes it (spill.go)
	}
	e.counters[shard].dropped[QueueFullOldest][e.classes.of(ev.Level)].Add(1)
	if ev.Charged > 0 {
		e.budget.Release(ev.Charged)
	}
}

// Flush waits until every event logged before the call has been written
// (or accounted as dropped or failed) and every sink has been flushed, or
// until ctx is done. It returns ctx.Err() in the latter case, the first
// sink Flush error otherwise, and ErrClosed after Shutdown.
func (e *Engine) Flush(ctx context.Context) error {
	if e.state.Load() != stateRunning {
		return ErrClosed
	}
	t := e.mono()
	for _, f := range e.flushers {
		signal(f.kick)
	}
	reqs := make([]flushRequest, len(e.writers))
	for i, w := range e.writers {
		reqs[i] = flushRequest{ctx: ctx, upTo: t, done: make(chan error, 1)}
		select {
		case w.flushes <- reqs[i]:
		case <-ctx.Done():
			return ctx.Err()
		case <-w.exited:
			return ErrClosed
		}
	}
	var first error
	for i, w := range e.writers {
		select {
		case err := <-reqs[i].done:
			if err != nil && first == nil {
				first = fmt.Errorf("engine: flush %s: %w", w.name, err)
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-w.exited:
			return ErrClosed
		}
	}
	return first
}

// signal does a non-blocking send on a capacity-1 channel.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

const noWatermark = math.MinInt64
