package shardlog

import (
	"time"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/budget"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/engine"
)

// Engine owns the queue, the flushers and the sink writers; see
// engine.Engine. End it with Shutdown.
type Engine = engine.Engine

// Logger logs into an engine; see engine.Logger.
type Logger = engine.Logger

// Option configures an engine; see engine.Option.
type Option = engine.Option

// Report, SinkStats and Drops are the engine's accounting (Engine.Stats,
// Engine.Shutdown); Reason names why an event was dropped.
type (
	Report    = engine.Report
	SinkStats = engine.SinkStats
	Drops     = engine.Drops
	Reason    = engine.Reason
)

// Metrics are what an operator reads (Engine.Metrics, a MetricsReader for
// intervals, Engine.MetricsHandler for JSON over HTTP, Engine.PublishExpvar);
// see engine.Metrics.
type (
	Metrics       = engine.Metrics
	SinkMetrics   = engine.SinkMetrics
	EngineMetrics = engine.EngineMetrics
	ShardMetrics  = engine.ShardMetrics
	LevelCount    = engine.LevelCount
	MetricsReader = engine.MetricsReader
)

// MetricsSchema names the JSON layout of Metrics.
const MetricsSchema = engine.MetricsSchema

// The drop reasons; see engine.Reason.
const (
	QueueFullOldest = engine.QueueFullOldest
	QueueFullNewest = engine.QueueFullNewest
	BlockTimeout    = engine.BlockTimeout
	SinkLagging     = engine.SinkLagging
	BelowSinkLevel  = engine.BelowSinkLevel
	Filtered        = engine.Filtered
	Shutdown        = engine.Shutdown
	Closed          = engine.Closed
	Budget          = engine.Budget
	TooLarge        = engine.TooLarge
	NotAttempted    = engine.NotAttempted
	BreakerOpen     = engine.BreakerOpen
)

// OversizeAction says what happens to an event larger than
// WithMaxEventBytes; LimitExceeded is what WithOnLimitExceeded's hook gets.
type (
	OversizeAction = engine.OversizeAction
	LimitExceeded  = engine.LimitExceeded
	// BudgetSnapshot is the memory budget's figures (Metrics.Engine.Budget).
	BudgetSnapshot = budget.Snapshot
	// BreakerConfig configures a sink's circuit breaker (SinkBreaker);
	// BreakerCounts is its state in Metrics.
	BreakerConfig = breaker.Config
	// RetryPolicy is how a sink's writer retries a failed write.
	RetryPolicy   = engine.RetryPolicy
	BreakerCounts = breaker.Counts
)

// The retry policies: the default, and none.
var (
	DefaultRetryPolicy = engine.DefaultRetryPolicy
	NoRetry            = engine.NoRetry
)

// The oversize actions.
const (
	Truncate = engine.Truncate
	Refuse   = engine.Refuse
)

// The memory defaults.
const (
	DefaultMaxQueueBytes = engine.DefaultMaxQueueBytes
	DefaultMaxEventBytes = engine.DefaultMaxEventBytes
)

// ErrClosed is returned by Flush, Sync and the slog handler after Shutdown.
var ErrClosed = engine.ErrClosed

// ErrNotAttempted, wrapped in a sink's Write error, says the rest of the batch
// was not attempted (see core.ErrNotAttempted).
var ErrNotAttempted = core.ErrNotAttempted

// ErrPermanent, wrapped in a sink's Write error, says a retry cannot cure
// the failure of the rest of the batch (see core.ErrPermanent).
var ErrPermanent = core.ErrPermanent

// ErrRejected, wrapped in a sink's Write error, says the entry at the
// returned count alone cannot be written, and the rest should follow at
// once (see core.ErrRejected).
var ErrRejected = core.ErrRejected

// New builds an engine from opts and starts it. Invalid options are
// refused with an error naming the option; New never panics on bad
// configuration. At least one sink is required (WithSink).
func New(opts ...Option) (*Engine, error) { return engine.New(opts...) }

// Reasons returns every drop reason, in order (for reports and metrics).
func Reasons() []Reason { return engine.Reasons() }

// Strategy says how much of what is queued a shutdown delivers
// (Engine.Shutdown; see package drain): FlushPending (the default) delivers
// everything unless the context ends first, Graceful(d) delivers for at
// most d, Immediate discards what is queued (counted dropped{shutdown}).
// DrainReport is the shutdown's own report (Report.Drain).
type (
	Strategy    = drain.Strategy
	DrainReport = drain.Report
)

// The shutdown strategies; see drain.Strategy.
var (
	Immediate    = drain.Immediate
	FlushPending = drain.FlushPending
)

// Graceful delivers for at most timeout, then abandons the rest, counted.
func Graceful(timeout time.Duration) Strategy { return drain.Graceful(timeout) }
