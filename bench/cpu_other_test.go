//go:build !unix

package bench

// processCPU reports that this platform gives no process CPU time; the
// benchmarks then leave out cpu-ns/delivered.
func processCPU() (int64, bool) { return 0, false }
