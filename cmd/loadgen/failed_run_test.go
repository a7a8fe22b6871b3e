package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingRun runs the load generator into a file sink whose every write
// fails (loadgen.log is a symlink to /dev/full: ENOSPC), and returns the
// exit status and the JSON report.
func failingRun(t *testing.T) (int, map[string]any, string) {
	t.Helper()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("needs /dev/full")
	}
	dir := t.TempDir()
	require.NoError(t, os.Symlink("/dev/full", filepath.Join(dir, logFileName)))
	var out, errOut bytes.Buffer
	code := runMain(context.Background(), nil, []string{"-duration", "200ms", "-rate", "20000", "-goroutines", "2",
		"-dir", dir, "-progress", "0", "-json"}, &out, &errOut, false)
	var rep map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String()+errOut.String())
	return code, rep, errOut.String()
}

// A run in which the only sink wrote nothing (every write failed, the
// breaker opened, every event lost) fails: exit 1 and "run: FAILED",
// though its accounting is exact. Mutation caught: an exit status from
// the accounting and the shutdown alone (it exited 0).
func TestARunThatDeliveredNothingFails(t *testing.T) {
	code, rep, stderr := failingRun(t)
	s := rep["sinks"].([]any)[0].(map[string]any)
	t.Logf("exit %d, accounting %v, written %v, failed %v, dropped %v, engine_errors %v", code, rep["accounting"],
		s["written"], s["failed"], s["dropped"], rep["engine_errors"])
	require.Zero(t, s["written"].(float64), "precondition: nothing written (stderr: %s)", stderr)
	assert.Equal(t, 1, code, "every event failed or was dropped, %v engine errors", rep["engine_errors"])
	assert.NotEmpty(t, rep["losses"])
}
