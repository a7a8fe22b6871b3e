package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
)

// shortRun parses args after the test's defaults: a 300ms open-loop run at
// 20000 events/s on 4 goroutines, into a file in a temporary directory.
func shortRun(t *testing.T, args ...string) config {
	t.Helper()
	c, err := parseFlags(append([]string{
		"-duration", "300ms", "-rate", "20000", "-goroutines", "4",
		"-dir", t.TempDir(), "-progress", "100ms",
	}, args...), io.Discard)
	require.NoError(t, err)
	return c
}

func TestRunWritesEveryWrittenEventToTheLogFile(t *testing.T) {
	c := shortRun(t, "-fields", "10")
	p, err := build(c, io.Discard)
	require.NoError(t, err)
	var progressOut bytes.Buffer
	res, err := runLoad(context.Background(), c, p, &progressOut, false, nil)
	require.NoError(t, err)

	var report bytes.Buffer
	require.NoError(t, res.writeText(&report))
	assert.Contains(t, report.String(), "\naccounting: exact\n")
	assert.Empty(t, res.Mismatches)
	assert.Empty(t, res.ShutdownErr)

	// The schedule: 4 goroutines x 1500 events, one every 200µs each.
	assert.Equal(t, uint64(6000), res.Scheduled)
	assert.Equal(t, res.Scheduled, res.Attempted+res.Unsent)
	require.Len(t, res.Sinks, 1)
	s := res.Sinks[0]
	assert.Equal(t, "file", s.Name)
	assert.Equal(t, res.Attempted, s.Accepted)
	assert.Zero(t, s.Pending)
	assert.Equal(t, uint64(res.CallLatency.Count()), res.Attempted)
	assert.Equal(t, uint64(res.ServiceLatency.Count()), res.Attempted)

	fi, err := os.Stat(c.logPath())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	f, err := os.Open(c.logPath())
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var lines uint64
	for sc.Scan() {
		lines++
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "line %d: %s", lines, sc.Text())
		assert.Contains(t, []any{"request handled", "slow request", "request failed"}, rec["msg"])
		for _, k := range []string{"method", "path", "status", "latency_ms", "user_id", "bytes", "trace_id", "remote_addr", "user_agent", "cache_hit"} {
			assert.Contains(t, rec, k, "line %d", lines)
		}
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, s.Written, lines)

	// Not a terminal: one line per interval.
	assert.Contains(t, progressOut.String(), "depth")
	assert.NotContains(t, progressOut.String(), "\r")
}

func TestFieldsFlagChoosesHowManyFields(t *testing.T) {
	c := shortRun(t, "-fields", "1", "-duration", "50ms", "-progress", "0")
	p, err := build(c, io.Discard)
	require.NoError(t, err)
	res, err := runLoad(context.Background(), c, p, io.Discard, false, nil)
	require.NoError(t, err)
	require.NotZero(t, res.Sinks[0].Written)

	data, err := os.ReadFile(c.logPath())
	require.NoError(t, err)
	line, _, _ := strings.Cut(string(data), "\n")
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &rec))
	assert.Contains(t, rec, "method")
	assert.NotContains(t, rec, "path")
}

func TestParseFlagsErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"-policy", "nope"}, "-policy"},
		{[]string{"-queue", "x"}, "-queue"},
		{[]string{"-goroutines", "0"}, "-goroutines"},
		{[]string{"-goroutines", "100000"}, "-goroutines"},
		{[]string{"-rate", "-1"}, "-rate"},
		{[]string{"-rate", "fast"}, "-rate"},
		{[]string{"-fields", "11"}, "-fields"},
		{[]string{"-fields", "0"}, "-fields"},
		{[]string{"-duration", "0"}, "-duration"},
		{[]string{"-sink", "nfs"}, "-sink"},
		{[]string{"-dir", ""}, "-dir"},
		{[]string{"-console-format", "xml"}, "-console-format"},
		{[]string{"-shards", "-1"}, "-shards"},
		{[]string{"-capacity", "-1"}, "-capacity"},
		{[]string{"-progress", "-1s"}, "-progress"},
		{[]string{"-bogus"}, "-bogus"},
	} {
		t.Run(strings.Join(tc.args, "="), func(t *testing.T) {
			_, err := parseFlags(tc.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.flag)
			assert.True(t, strings.HasPrefix(err.Error(), "loadgen: "), err.Error())
		})
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 8, c.goroutines)
	assert.Equal(t, 200000, c.rate)
	assert.Equal(t, "lockfree", c.queue.String())
	assert.Equal(t, "drop-oldest", c.policy.String())
	assert.Equal(t, "file", c.sink)
	assert.Equal(t, filepath.Join("logs", "loadgen.log"), c.logPath())
	assert.Equal(t, 5, c.fields)
}

func TestRunMainExitStatus(t *testing.T) {
	run := func(args ...string) (code int, stdout, stderr string) {
		var out, errOut bytes.Buffer
		code = runMain(context.Background(), nil, args, &out, &errOut, false)
		return code, out.String(), errOut.String()
	}

	t.Run("bad flag", func(t *testing.T) {
		code, out, errOut := run("-policy", "nope")
		assert.Equal(t, 2, code)
		assert.Empty(t, out)
		assert.Contains(t, errOut, `loadgen: -policy: ring: unknown policy "nope"`)
	})
	t.Run("engine refuses", func(t *testing.T) {
		code, _, errOut := run("-shards", "3", "-sink", "discard")
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "engine: WithShards")
	})
	t.Run("help", func(t *testing.T) {
		code, _, errOut := run("-h")
		assert.Equal(t, 0, code)
		assert.Contains(t, errOut, "-goroutines")
	})
	t.Run("closed loop json report", func(t *testing.T) {
		code, out, _ := run("-duration", "50ms", "-rate", "0", "-goroutines", "2", "-sink", "discard", "-progress", "0", "-json")
		require.Equal(t, 0, code)
		var rep map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
		assert.Equal(t, "exact", rep["accounting"])
		assert.NotContains(t, rep, "service_latency_ns")
		sinks := rep["sinks"].([]any)
		require.Len(t, sinks, 1)
		assert.Equal(t, "discard", sinks[0].(map[string]any)["name"])
		assert.Equal(t, rep["attempted"], sinks[0].(map[string]any)["accepted"])
	})
	t.Run("both sinks", func(t *testing.T) {
		code, out, errOut := run("-duration", "50ms", "-rate", "2000", "-sink", "both", "-console-format", "json",
			"-dir", t.TempDir(), "-progress", "0")
		require.Equal(t, 0, code, out)
		assert.Contains(t, out, "sink file\n")
		assert.Contains(t, out, "sink console\n")
		assert.Contains(t, out, "accounting: exact")
		assert.Contains(t, errOut, `"msg":"request handled"`)
	})
}

func TestParseFlagsHelp(t *testing.T) {
	var help bytes.Buffer
	_, err := parseFlags([]string{"-help"}, &help)
	assert.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, help.String(), "Usage: loadgen")
}

// -metrics-json writes the engine's final metrics, whose counts agree
// with the report; -metrics-addr serves them while the load runs.
func TestMetricsFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.json")
	var out, errOut bytes.Buffer
	code := runMain(context.Background(), nil, []string{"-duration", "100ms", "-rate", "5000", "-goroutines", "2",
		"-sink", "discard", "-progress", "0", "-json", "-metrics-json", path, "-metrics-addr", "127.0.0.1:0"}, &out, &errOut, false)
	require.Equal(t, 0, code, errOut.String())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var m shardlog.Metrics
	require.NoError(t, json.Unmarshal(data, &m))
	require.Equal(t, shardlog.MetricsSchema, m.Schema)
	require.Len(t, m.Sinks, 1)
	s := m.Sinks[0]
	require.Positive(t, s.Written)
	require.Equal(t, s.Accepted, s.Written+s.Dropped.Total()+s.Failed+s.Pending)

	e, err := shardlog.New(shardlog.WithSink(&discardSink{}))
	require.NoError(t, err)
	addr, stop, err := serveMetrics("127.0.0.1:0", e)
	require.NoError(t, err)
	e.Logger().Info("x")
	require.NoError(t, e.Logger().Sync())
	resp, err := http.Get("http://" + addr.String() + "/metrics.json")
	require.NoError(t, err)
	var live shardlog.Metrics
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&live))
	resp.Body.Close()
	require.Equal(t, uint64(1), live.Sinks[0].Written)
	stop()
	_, err = e.Shutdown(context.Background())
	require.NoError(t, err)

	_, _, err = serveMetrics("not an address", e)
	require.ErrorContains(t, err, "-metrics-addr")
}

// /metrics serves the counters in Prometheus's text format, under the
// collector's names, one series per sink and reason; promtool accepts it
// when it is installed (CI installs it).
func TestPrometheusText(t *testing.T) {
	e, err := shardlog.New(shardlog.WithSink(&discardSink{}, shardlog.SinkName("discard")))
	require.NoError(t, err)
	defer func() { _, _ = e.Shutdown(context.Background()) }()
	for range 7 {
		e.Logger().Info("x")
	}
	require.NoError(t, e.Logger().Sync())
	addr, stop, err := serveMetrics("127.0.0.1:0", e)
	require.NoError(t, err)
	defer stop()
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	text := string(body)
	require.Contains(t, text, "\nshardlog_sink_events_written_total{sink=\"discard\"} 7\n")
	require.Contains(t, text, "shardlog_sink_events_dropped_total{sink=\"discard\",reason=\"queue-full-oldest\"} 0\n")
	require.Contains(t, text, "shardlog_events_accepted_total{level=\"INFO\"} 7\n")
	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool: %s", out)
	}
}
