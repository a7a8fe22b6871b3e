//go:build !shardlog_hooks

package engine

// Test hooks compile to nothing in normal builds; hooks_on.go (build tag
// shardlog_hooks) lets tests widen race windows deterministically.

func hookShutdownAfterClose()   {}
func hookEpochStart(int, bool)  {}
func hookFlusherParked(int)     {}
func hookFlusherTakesBatch(int) {}
func hookSpillFilled(int)       {}
