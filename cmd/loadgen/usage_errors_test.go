package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A -metrics-json path that cannot be written is refused before the run
// (exit 2), not found after it with the run's report thrown away; and
// nothing is left behind. Mutation caught: opening the file after the run
// (the run happened, its log written, and stdout was empty).
func TestABadMetricsJSONPathIsRefusedBeforeTheRun(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := runMain(context.Background(), nil, []string{"-duration", "200ms", "-rate", "20000", "-goroutines", "2",
		"-dir", dir, "-progress", "0", "-metrics-json", filepath.Join(dir, "no", "such", "dir", "m.json")}, &out, &errOut, false)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut.String(), "-metrics-json")
	_, err := os.Stat(filepath.Join(dir, logFileName))
	assert.True(t, os.IsNotExist(err), "refused before the run: no log file")
}

// A usage error found by the engine or the metrics address (-shards 3,
// -metrics-addr "bad addr") exits 2 and leaves no log file behind.
// Mutation caught: checking them after build made the file.
func TestUsageErrorsLeaveNoFiles(t *testing.T) {
	for _, args := range [][]string{
		{"-metrics-addr", "bad addr"},
		{"-shards", "3"},
	} {
		t.Run(strings.Join(args, "="), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "logs")
			var out, errOut bytes.Buffer
			code := runMain(context.Background(), nil, append(args, "-dir", dir, "-progress", "0"), &out, &errOut, false)
			assert.Equal(t, 2, code)
			_, err := os.Stat(filepath.Join(dir, logFileName))
			assert.True(t, os.IsNotExist(err), "a usage error (%s) left %s behind", strings.TrimSpace(errOut.String()), filepath.Join(dir, logFileName))
		})
	}
}
