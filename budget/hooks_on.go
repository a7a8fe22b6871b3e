//go:build shardlog_hooks

package budget

// TestHooks hold a party inside the budget's one race window. Set them only
// from tests built with the shardlog_hooks tag, and clear them after.
var TestHooks struct {
	// FixBeforeCAS runs in fix after it read usage and before it
	// compares and swaps the over flag.
	FixBeforeCAS func()
}

func hookFix() {
	if f := TestHooks.FixBeforeCAS; f != nil {
		f()
	}
}
