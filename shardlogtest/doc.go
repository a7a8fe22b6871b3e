// Package shardlogtest gives a test a shardlog logger whose events it can
// assert on, in the manner of zaptest and zaptest/observer:
//
//	func TestCheckout(t *testing.T) {
//		log, obs := shardlogtest.New(t)
//		checkout(log, "A-17")
//		require.Equal(t, 1, obs.FilterMessage("order placed").Len())
//	}
//
// New starts an engine with two sinks: one writes each event as a logfmt
// line to t.Log, so that go test -v shows the log interleaved with the
// test's own output (and go test shows it only for a failing test), and
// an observer keeps a copy of every event for Observed to return. Lines
// reach t.Log as the engine delivers them, a little after the call; a
// read of Observed, or its Sync, puts them before what the test logs
// next.
//
// Guarantees:
//
//   - Nothing logged is lost quietly. The default level is Debug and the
//     overflow policy Block, with a block timeout as long as
//     Config.Timeout, so a slow test waits instead of dropping. When the
//     test ends, t.Cleanup shuts the engine down within Config.Timeout
//     and fails the test (t.Errorf) if any sink's accounting shows an
//     event dropped, failed or still pending, naming the sink and the
//     reason. The engine's internal errors (a sink that fails, a panicking
//     enricher) fail the test too. Drops a test causes on purpose can be
//     allowed with Config.Allow; options passed to New (WithLevel,
//     WithOverflow, WithErrorHandler, ...) replace these defaults.
//   - Reads see what was logged before them. Every read of Observed first
//     waits (up to Config.Timeout) until each event logged before the
//     call has been delivered, so assertions do not race the pipeline.
//   - No call to t after the test, where t.Log would panic. A log call
//     made after the cleanup (by a goroutine the test leaked) is counted
//     dropped (closed) and written nowhere, and a sink call that outlives
//     the cleanup's deadline does not reach t.
//
// The file:line that t.Log prints names this package's sink, because the
// engine writes from its own goroutine; pass shardlog.WithCaller(true) to
// add each event's call site to its line.
package shardlogtest
