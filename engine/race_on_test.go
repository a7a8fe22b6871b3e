//go:build race

package engine_test

// stallRate is the rate TestSinkStallIsAbsorbedByTheBudget logs at. The
// race detector slows the pipeline 5-10x, so the race build runs the
// stall at a rate it can carry on 2 cores; the plain build runs the
// target's 200 000 events/s.
const stallRate = 40_000
