//go:build shardlog_hooks

package breaker

// TestHooks hold a party inside the breaker's race windows. Set them only
// from tests built with the shardlog_hooks tag, and clear them after.
var TestHooks struct {
	// ProbeBeforeCAS runs in Done for a half-open probe after it loaded
	// the state word and found its generation current, before it swaps.
	ProbeBeforeCAS func()
	// TripAfterCAS runs after a closed breaker was swapped to Open and
	// before the period's deadline is published.
	TripAfterCAS func()
	// NotifyBeforeRelease runs in the deliverer of OnStateChange calls when
	// it found nothing more to deliver, before it lets go of the busy flag.
	NotifyBeforeRelease func()
}

func hookProbeBeforeCAS() {
	if f := TestHooks.ProbeBeforeCAS; f != nil {
		f()
	}
}

func hookTripAfterCAS() {
	if f := TestHooks.TripAfterCAS; f != nil {
		f()
	}
}

func hookNotifyBeforeRelease() {
	if f := TestHooks.NotifyBeforeRelease; f != nil {
		f()
	}
}
