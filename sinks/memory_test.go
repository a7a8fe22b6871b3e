package sinks_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

func TestMemoryConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
		m := sinks.NewMemory(sinks.MemoryOptions{})
		return m, m.Lines
	}, sinktest.WithFormat(sinktest.JSONLines))
}

func TestMemoryEncoder(t *testing.T) {
	require.Equal(t, core.Encoder(format.JSON{}), sinks.NewMemory(sinks.MemoryOptions{}).Encoder())
	require.Equal(t, core.Encoder(format.Text{}), sinks.NewMemory(sinks.MemoryOptions{Encoder: format.Text{}}).Encoder())
}

// TestMemoryKeepsDeepCopies overwrites the written events, inline and
// spilled fields included, as the engine does when it reuses ring slots.
func TestMemoryKeepsDeepCopies(t *testing.T) {
	m := sinks.NewMemory(sinks.MemoryOptions{})
	evs := sinktest.Events(5) // event 4 has spilled fields
	want := sinktest.Events(5)
	_, err := m.Write(bg, sinktest.Entries(m, evs))
	require.NoError(t, err)

	for i := range evs {
		fields := evs[i].Fields()
		for k := range fields {
			fields[k] = core.String("MUTATED", "MUTATED")
		}
		evs[i].Message = "MUTATED"
	}
	evs[4].AddField(core.Int("one more", 1))
	require.Equal(t, want, m.Events())
}

func TestMemoryLines(t *testing.T) {
	m := sinks.NewMemory(sinks.MemoryOptions{Encoder: format.Text{}})
	evs := sinktest.Events(2)
	_, err := m.Write(bg, []core.Entry{
		{Event: &evs[0], Line: []byte("from the engine\n")},
		{Event: &evs[1]}, // encoded by the Memory
	})
	require.NoError(t, err)
	encoded := strings.TrimSuffix(string(format.Text{}.Append(nil, &evs[1])), "\n")
	require.Equal(t, []string{"from the engine", encoded}, m.Lines())
	require.Equal(t, 2, m.Len())
}

func TestMemoryReset(t *testing.T) {
	m := sinks.NewMemory(sinks.MemoryOptions{})
	_, err := m.Write(bg, sinktest.Entries(m, sinktest.Events(3)))
	require.NoError(t, err)
	m.Reset()
	require.Zero(t, m.Len())
	require.Empty(t, m.Events())
	require.Empty(t, m.Lines())
	_, err = m.Write(bg, sinktest.Entries(m, sinktest.Events(1)))
	require.NoError(t, err)
	require.Equal(t, 1, m.Len())
}

func TestMemoryWait(t *testing.T) {
	t.Run("Arrives", func(t *testing.T) {
		m := sinks.NewMemory(sinks.MemoryOptions{})
		evs := sinktest.Events(3)
		go func() {
			for i := range evs {
				time.Sleep(time.Millisecond)
				_, _ = m.Write(bg, sinktest.Entries(m, evs[i:i+1]))
			}
		}()
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		require.NoError(t, m.Wait(ctx, 3))
		require.Equal(t, 3, m.Len())
	})
	t.Run("AlreadyThere", func(t *testing.T) {
		m := sinks.NewMemory(sinks.MemoryOptions{})
		_, err := m.Write(bg, sinktest.Entries(m, sinktest.Events(2)))
		require.NoError(t, err)
		require.NoError(t, m.Wait(bg, 2))
	})
	t.Run("ContextDone", func(t *testing.T) {
		m := sinks.NewMemory(sinks.MemoryOptions{})
		ctx, cancel := context.WithTimeout(bg, 10*time.Millisecond)
		defer cancel()
		err := m.Wait(ctx, 1)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.EqualError(t, err, "sinks: memory: waiting for 1 events, have 0: context deadline exceeded")
	})
	t.Run("Closed", func(t *testing.T) {
		m := sinks.NewMemory(sinks.MemoryOptions{})
		done := make(chan error)
		go func() { done <- m.Wait(bg, 1) }()
		time.Sleep(time.Millisecond)
		require.NoError(t, m.Close(bg))
		require.ErrorIs(t, <-done, sinks.ErrClosed)
	})
}

func TestMemoryFailAfter(t *testing.T) {
	errDown := errors.New("down")
	m := sinks.NewMemory(sinks.MemoryOptions{})
	evs := sinktest.Events(8)
	m.FailAfter(3, errDown)
	for _, step := range []struct {
		from, to int
		want     int
		err      error
	}{
		{0, 2, 2, nil},
		{2, 4, 1, errDown}, // crosses the limit: stores its first event
		{4, 5, 0, errDown},
	} {
		n, err := m.Write(bg, sinktest.Entries(m, evs[step.from:step.to]))
		require.Equal(t, step.want, n)
		require.ErrorIs(t, err, step.err)
	}
	m.FailAfter(0, nil)
	n, err := m.Write(bg, sinktest.Entries(m, evs[5:]))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	got := m.Events()
	require.Len(t, got, 6)
	require.Equal(t, sinktest.Message(2), got[2].Message)
	require.Equal(t, sinktest.Message(5), got[3].Message)
}

func TestMemorySetErr(t *testing.T) {
	errDown := errors.New("down")
	m := sinks.NewMemory(sinks.MemoryOptions{})
	m.SetErr(errDown)
	n, err := m.Write(bg, sinktest.Entries(m, sinktest.Events(2)))
	require.Zero(t, n)
	require.ErrorIs(t, err, errDown)
	require.NoError(t, m.Flush(bg), "SetErr fails Writes only")
	m.SetErr(nil)
	n, err = m.Write(bg, sinktest.Entries(m, sinktest.Events(2)))
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestMemorySetDelay(t *testing.T) {
	m := sinks.NewMemory(sinks.MemoryOptions{})
	m.SetDelay(5 * time.Millisecond)
	start := time.Now()
	n, err := m.Write(bg, sinktest.Entries(m, sinktest.Events(1)))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.GreaterOrEqual(t, time.Since(start), 5*time.Millisecond)

	m.SetDelay(time.Hour)
	ctx, cancel := context.WithTimeout(bg, 10*time.Millisecond)
	defer cancel()
	n, err = m.Write(ctx, sinktest.Entries(m, sinktest.Events(1)))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Zero(t, n)
	require.Equal(t, 1, m.Len())
}

func TestMemoryCloseTwice(t *testing.T) {
	m := sinks.NewMemory(sinks.MemoryOptions{})
	_, err := m.Write(bg, sinktest.Entries(m, sinktest.Events(1)))
	require.NoError(t, err)
	require.NoError(t, m.Close(bg))
	require.ErrorIs(t, m.Close(bg), sinks.ErrClosed)
	require.Equal(t, 1, m.Len(), "stored events stay readable after Close")
}

// TestMemoryConcurrentReaders is for the race detector: readers run while
// one goroutine writes, as in an engine test.
func TestMemoryConcurrentReaders(t *testing.T) {
	m := sinks.NewMemory(sinks.MemoryOptions{})
	evs := sinktest.Events(200)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m.Len() < len(evs) {
				_ = m.Events()
				_ = m.Lines()
			}
		}()
	}
	for i := 0; i < len(evs); i += 10 {
		_, err := m.Write(bg, sinktest.Entries(m, evs[i:i+10]))
		require.NoError(t, err)
	}
	wg.Wait()
	require.NoError(t, m.Wait(bg, len(evs)))
	require.Equal(t, len(evs), m.Len())
	got := m.Events()
	for i := range evs {
		require.Equal(t, evs[i].Message, got[i].Message, "event %d in write order", i)
	}
}
