//go:build !shardlog_hooks

package breaker

func hookProbeBeforeCAS()      {}
func hookTripAfterCAS()        {}
func hookNotifyBeforeRelease() {}
