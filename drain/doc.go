// Package drain is shardlog's shutdown controller: it runs an ordered,
// bounded shutdown so that no cleanup handler and no stage can hold a
// service's shutdown past its budget. It uses only the standard library.
//
// # Strategies
//
// A Strategy says how much of what is queued a shutdown delivers. The
// three map one to one onto the original design's
// shutdown_strategy = Immediate | Flush_pending | Graceful of float:
//
//   - Immediate (seed: Immediate): stop intake, discard what is queued
//     (the owner counts it as dropped) and close.
//   - FlushPending (seed: Flush_pending): deliver everything queued,
//     unless the caller's context ends first. It is the zero Strategy.
//   - Graceful(d) (seed: Graceful of float seconds): deliver until d has
//     passed, then abandon the rest. The caller's earlier deadline wins.
//
// Strategies print, parse and marshal as "immediate", "flush-pending" and
// "graceful(50ms)" (ParseStrategy also reads "graceful:50ms").
//
// # Order
//
// Controller.Shutdown runs the handlers registered with Register first,
// all at once, because application cleanup may still log and its events
// should be delivered; then the owner's stages (WithStages), one at a
// time and in order, for the engine "stop intake", "drain shards",
// "deliver held", "flush sinks", "close sinks". A failing stage does not
// stop the ones after it. WithAccounting lets the report say, per unit,
// what was delivered, failed, dropped and left pending during the drain.
//
// # Deadlines and abandonment
//
// Everything runs under the drain's context, Strategy.Context of the
// caller's: it ends at the Graceful timeout or at the caller's deadline.
// Handlers and stages must return promptly once it is done. Shutdown
// waits for them at most a short overrun (WithOverrun, default 5ms) past
// that end, so that they can account for what they gave up, and then
// returns regardless. A handler or stage still running then is
// abandoned: Go cannot stop a goroutine, so its goroutine is left behind
// until the call returns, and the Report names it with Abandoned set
// ("still running" in Report.String). Stages after an abandoned one are
// skipped. Stages after the deadline still run, with the done context, as
// long as the overrun lasts, so that a late stage can close what it can.
// A stage marked Always (one that does not wait, such as closing intake)
// runs even when the overrun ran out before its turn, with an overrun of
// its own, unless a stage before it is still running. A failed read of
// the accounting (WithAccounting) sets Report.AccountingFailed: Clean is
// then false, since what the drain lost is unknown.
//
// # Idempotence
//
// Shutdown runs the drain once. Concurrent and later calls wait for that
// drain and return its Report and error; unlike the seed's execute, which
// raised "Already shutdown" on a second call, a second Shutdown is not an
// error. Register after Shutdown has begun returns ErrShutDown.
//
// # Kubernetes
//
// On pod deletion Kubernetes runs the preStop hook, then sends SIGTERM,
// then SIGKILL once terminationGracePeriodSeconds (default 30s) have
// passed since deletion, preStop included. So choose
//
//	terminationGracePeriodSeconds > preStop sleep + drain Deadline + exit time
//
// and leave a few seconds of margin. HandleSignals' default Deadline of
// 25s fits the default period without a preStop hook; with a 5s preStop
// sleep (to let endpoints stop sending traffic) either raise the period
// to 35s or more, or lower Deadline to 20s or less.
package drain
