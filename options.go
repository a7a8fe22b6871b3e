package shardlog

import (
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
)

// The options of New. Each is engine's option of the same name, whose
// documentation gives the default and what repeated use does.

// SinkOption configures one sink given to WithSink.
type SinkOption = engine.SinkOption

// Enricher, Filter and ContextExtractor are the pipeline's hooks; see
// engine.Enricher, engine.Filter and engine.ContextExtractor.
type (
	Enricher         = engine.Enricher
	Filter           = engine.Filter
	ContextExtractor = engine.ContextExtractor
)

// WithSink adds a sink, with its own writer goroutine.
func WithSink(s core.Sink, opts ...SinkOption) Option { return engine.WithSink(s, opts...) }

// SinkName names a sink in metrics and errors.
func SinkName(name string) SinkOption { return engine.SinkName(name) }

// SinkLevel is a sink's minimum level.
func SinkLevel(l Level) SinkOption { return engine.SinkLevel(l) }

// SinkLevelVar gives a sink a level that can change at run time.
func SinkLevelVar(v *LevelVar) SinkOption { return engine.SinkLevelVar(v) }

// SinkLossMarker makes the sink's output say when events are missing: the
// next batch after a loss starts with one record counting it by reason.
func SinkLossMarker(on bool) SinkOption { return engine.SinkLossMarker(on) }

// SinkLevelName is SinkLevel with the level given by name.
func SinkLevelName(name string) SinkOption { return engine.SinkLevelName(name) }

// SinkWriteTimeout bounds each Write of the sink (default: the engine's,
// DefaultSinkWriteTimeout, 5s).
func SinkWriteTimeout(d time.Duration) SinkOption { return engine.SinkWriteTimeout(d) }

// SinkBreaker configures the sink's circuit breaker (every sink has one:
// 5 failed writes in a row open it for 1s by default).
func SinkBreaker(cfg BreakerConfig) SinkOption { return engine.SinkBreaker(cfg) }

// SinkRetry sets how the sink's writer retries a failed write
// (DefaultRetryPolicy: 3 attempts, 50ms and 100ms apart; NoRetry).
func SinkRetry(p RetryPolicy) SinkOption { return engine.SinkRetry(p) }

// SinkWithoutBreaker removes the sink's circuit breaker.
func SinkWithoutBreaker() SinkOption { return engine.SinkWithoutBreaker() }

// SinkFallback writes the sink's batches to fallback while its breaker is
// open.
func SinkFallback(fallback core.Sink) SinkOption { return engine.SinkFallback(fallback) }

// WithSinkWriteTimeout sets the write timeout of every sink without its own.
func WithSinkWriteTimeout(d time.Duration) Option { return engine.WithSinkWriteTimeout(d) }

// DefaultSinkWriteTimeout is a sink's write timeout by default.
const DefaultSinkWriteTimeout = engine.DefaultSinkWriteTimeout

// WithLevel sets the minimum level (default Info).
func WithLevel(l Level) Option { return engine.WithLevel(l) }

// WithLevelName sets the minimum level by name, as read from configuration.
func WithLevelName(name string) Option { return engine.WithLevelName(name) }

// WithLevelVar reads the minimum level from v, which may change at run
// time (and serve HTTP).
func WithLevelVar(v *LevelVar) Option { return engine.WithLevelVar(v) }

// WithOverflow sets the overflow policy (default DropOldest).
func WithOverflow(p Policy) Option { return engine.WithOverflow(p) }

// WithOverflowAt uses policy p for events at or above level min.
func WithOverflowAt(min Level, p Policy) Option { return engine.WithOverflowAt(min, p) }

// WithBlockTimeout bounds a Block call's wait (default 100ms).
func WithBlockTimeout(d time.Duration) Option { return engine.WithBlockTimeout(d) }

// WithContextBoundsWait lets a call's context end a Block wait (default off).
func WithContextBoundsWait(on bool) Option { return engine.WithContextBoundsWait(on) }

// WithQueue selects the queue (default LockFree).
func WithQueue(k QueueKind) Option { return engine.WithQueue(k) }

// WithShards sets the number of shards (default GOMAXPROCS, rounded up to
// a power of two).
func WithShards(n int) Option { return engine.WithShards(n) }

// WithCapacity sets the slots per shard (default 1024).
func WithCapacity(n int) Option { return engine.WithCapacity(n) }

// WithCaller records each event's call site.
func WithCaller(on bool) Option { return engine.WithCaller(on) }

// WithCallerSkip skips n more frames for the call site, for wrappers.
func WithCallerSkip(n int) Option { return engine.WithCallerSkip(n) }

// WithName names the root logger.
func WithName(name string) Option { return engine.WithName(name) }

// WithErrorHandler receives the pipeline's internal errors.
func WithErrorHandler(f func(error)) Option { return engine.WithErrorHandler(f) }

// WithEnricher adds fields to events in the pipeline.
func WithEnricher(f Enricher) Option { return engine.WithEnricher(f) }

// WithFilter drops events in the pipeline, counted as filtered.
func WithFilter(f Filter) Option { return engine.WithFilter(f) }

// WithContextExtractor adds fields carried by a call's context.
func WithContextExtractor(f ContextExtractor) Option { return engine.WithContextExtractor(f) }

// WithSyncTimeout bounds Logger.Sync (default 5s).
func WithSyncTimeout(d time.Duration) Option { return engine.WithSyncTimeout(d) }

// WithFatalTimeout bounds how long Fatal waits before the process exits.
func WithFatalTimeout(d time.Duration) Option { return engine.WithFatalTimeout(d) }

// WithMaxQueueBytes sets the memory budget for queued events (default
// DefaultMaxQueueBytes, 128 MiB; 0 turns it off).
func WithMaxQueueBytes(n int64) Option { return engine.WithMaxQueueBytes(n) }

// WithMaxEventBytes sets the largest event logged whole (default 1 MiB).
func WithMaxEventBytes(n int) Option { return engine.WithMaxEventBytes(n) }

// WithOversizedEvents says what happens to a larger event: Truncate
// (default) or Refuse.
func WithOversizedEvents(a OversizeAction) Option { return engine.WithOversizedEvents(a) }

// WithOnLimitExceeded sets a hook called, at most once a second and never
// on a caller's goroutine, when the memory budget sheds or refuses events.
func WithOnLimitExceeded(f func(LimitExceeded)) Option { return engine.WithOnLimitExceeded(f) }

// WithFlushInterval bounds an idle flusher's timed sleep.
func WithFlushInterval(d time.Duration) Option { return engine.WithFlushInterval(d) }

// WithWriteCoalescing lets a sink writer wait up to d to gather a light
// input into fewer, larger writes (see engine.WithWriteCoalescing).
func WithWriteCoalescing(d time.Duration) Option { return engine.WithWriteCoalescing(d) }

// WithPinnedFlushers locks each flusher to an OS thread (default off).
func WithPinnedFlushers(on bool) Option { return engine.WithPinnedFlushers(on) }

// WithFlusherAffinity binds each flusher's thread to one CPU (Linux).
func WithFlusherAffinity(on bool) Option { return engine.WithFlusherAffinity(on) }
