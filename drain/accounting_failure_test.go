package drain

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The accounting function runs on a goroutine of its own: a
// runtime.Goexit in it (no recover stops one) ends that goroutine, is
// reported as an error, and Shutdown goes on. Mutation caught: calling it
// on Shutdown's goroutine (which Goexit ended: Shutdown never returned).
func TestAccountingGoexitDoesNotEndTheCaller(t *testing.T) {
	var stageRan bool
	c := mustNew(t,
		WithAccounting(func() []Account { runtime.Goexit(); return nil }),
		WithStages(stage("stop intake", func(context.Context, Strategy) error { stageRan = true; return nil })))
	returned := make(chan error, 1)
	go func() {
		_, err := c.Shutdown(context.Background(), FlushPending)
		returned <- err
	}()
	select {
	case err := <-returned:
		require.Error(t, err, "the accounting failure is reported")
		assert.True(t, stageRan)
	case <-time.After(time.Second):
		_, err := c.Shutdown(bounded(t, 10*time.Millisecond), FlushPending)
		t.Fatalf("Shutdown never returned (its goroutine was ended by the accounting's Goexit); a second call: %v", err)
	}
}

// When the accounting read fails, the report says so
// (AccountingFailed) and is not Clean: what the drain lost is unknown.
// Mutation caught: Clean ignoring the failure (no Accounts, Lost 0,
// "clean").
func TestReportIsNotCleanWhenTheEndAccountingFailed(t *testing.T) {
	calls := 0
	c := mustNew(t, WithAccounting(func() []Account {
		calls++
		if calls == 2 {
			panic("counters gone")
		}
		return []Account{{Name: "a"}}
	}))
	r, err := c.Shutdown(bounded(t, time.Second), FlushPending)
	require.Error(t, err)
	assert.False(t, r.Clean(), "the losses were never read, yet the report says clean")
}
