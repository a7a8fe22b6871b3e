//go:build shardlog_hooks

package ring

// TestHooks are called at the points where the ring's races live, so tests
// can hold a party there. Set them only from tests built with the
// shardlog_hooks tag, before the queue is used, and clear them after.
var TestHooks struct {
	// DrainBeforeClaim runs on the consumer after it counted a run of
	// published entries and before its claiming CAS.
	DrainBeforeClaim func()
	// DrainClaimed runs on the consumer after its claiming CAS and before
	// it copies and releases the claimed slots.
	DrainClaimed func()
	// FullWhileReleasing runs on a drop-policy producer that found the
	// slot it needs claimed by the consumer but not yet released.
	FullWhileReleasing func()
}

func hookDrainBeforeClaim() {
	if f := TestHooks.DrainBeforeClaim; f != nil {
		f()
	}
}

func hookDrainClaimed() {
	if f := TestHooks.DrainClaimed; f != nil {
		f()
	}
}

func hookFullWhileReleasing() {
	if f := TestHooks.FullWhileReleasing; f != nil {
		f()
	}
}
