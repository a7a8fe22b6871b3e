//go:build !shardlog_hooks

package ring

// Test hooks compile to nothing in normal builds; hooks_on.go (build tag
// shardlog_hooks) lets tests widen race windows deterministically.

func hookDrainBeforeClaim()   {}
func hookDrainClaimed()       {}
func hookFullWhileReleasing() {}
