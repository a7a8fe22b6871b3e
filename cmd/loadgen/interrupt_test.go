package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An interrupt is honoured at once at a low rate: the wait for the next
// due time watches the run's context. Mutation caught: sleeping through
// the interval (2 goroutines at 1 event/s: the interrupt took ~2s; at
// -rate 1 -goroutines 8 the process exited 8s after SIGINT).
func TestAnInterruptIsHonouredPromptlyAtLowRates(t *testing.T) {
	c, err := parseFlags([]string{"-rate", "1", "-goroutines", "2", "-duration", "30s",
		"-sink", "discard", "-progress", "0"}, io.Discard)
	require.NoError(t, err)
	p, err := build(c, io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	t0 := time.Now()
	res, err := runLoad(ctx, c, p, io.Discard, false, nil)
	took := time.Since(t0)
	require.NoError(t, err)
	assert.Less(t, took, time.Second,
		"the load stopped %v after start, %v after the interrupt (attempted %d)", took, took-100*time.Millisecond, res.Attempted)
}

// An interrupted run says so ("run: INTERRUPTED", "interrupted": true)
// and exits 130, as a shell reports SIGINT. Mutation caught: exit 0 and a
// report like a complete run's.
func TestAnInterruptedRunIsReportedAsSuch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var out, errOut bytes.Buffer
	code := runMain(ctx, nil, []string{"-duration", "5s", "-rate", "20000", "-goroutines", "2",
		"-sink", "discard", "-progress", "0", "-json"}, &out, &errOut, false)
	var rep map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	t.Logf("exit %d, scheduled %v, attempted %v, accounting %v", code, rep["scheduled"], rep["attempted"], rep["accounting"])
	_, marked := rep["interrupted"]
	assert.True(t, code != 0 || marked,
		"a run interrupted after 100ms of 5s exits %d and its report has no interrupted mark", code)
}
