//go:build shardlog_hooks

package budget

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOverFlagIsNotLeftStaleByALateStore holds a charger inside fix, after
// it read usage as over the limit and before it sets the flag, while
// another party releases and finds the flag (still false) agreeing with
// usage. Mutation caught: fix making one CAS and returning instead of
// looping until flag and usage agree; the flag is then left true with
// usage under the limit, and every later admission is refused.
func TestOverFlagIsNotLeftStaleByALateStore(t *testing.T) {
	b, err := New(100)
	require.NoError(t, err)
	b.Charge(100)

	inside, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	TestHooks.FixBeforeCAS = func() {
		once.Do(func() { close(inside); <-resume })
	}
	defer func() { TestHooks.FixBeforeCAS = nil }()

	done := make(chan struct{})
	go func() { defer close(done); b.Charge(10) }() // crosses the limit
	<-inside
	b.Release(10) // usage back to the limit: not over; flag still false, so no fix
	close(resume)
	<-done

	require.Equal(t, int64(100), b.Usage())
	require.False(t, b.Over(), "the flag must follow usage back under the limit")
	require.True(t, b.TryCharge(0))
}
