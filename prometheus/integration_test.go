package shardlogprom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	shardlogprom "github.com/shardlog/shardlog/prometheus"
)

// A real Prometheus server scrapes the collector every second until its
// shardlog_sink_events_written_total equals what the engine reports.
// Skipped without the prometheus binary, unless SHARDLOG_REQUIRE_INTEGRATION=1.
func TestIntegrationPrometheusScrapes(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if requireIntegration {
			t.Fatalf("prometheus not on PATH and SHARDLOG_REQUIRE_INTEGRATION=1: %v", err)
		}
		t.Skip("prometheus not on PATH (apt-get install prometheus); skipping the integration test")
	}
	if testing.Short() && !requireIntegration {
		t.Skip("-short")
	}
	start := time.Now()

	out, err := shardlog.NewWriter(io.Discard, shardlog.JSON{})
	require.NoError(t, err)
	// Room for every event in one shard: none is evicted, whatever the timing.
	e := newEngine(t, shardlog.WithSink(out, shardlog.SinkName("discard")), shardlog.WithCapacity(2048))
	reg := prometheus.NewRegistry()
	reg.MustRegister(shardlogprom.NewCollector(e))
	target := serve(t, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	api := startPrometheus(t, bin, target)
	t.Logf("prometheus ready at %s after %v", api, time.Since(start).Round(time.Millisecond))

	const n = 1234
	for i := range n {
		e.Logger().Info("event", shardlog.Int("i", i))
	}
	require.NoError(t, e.Flush(t.Context()))
	want := e.Metrics(false).Sinks[0].Written
	require.Equal(t, uint64(n), want)

	var got string
	deadline := time.Now().Add(60 * time.Second)
	for {
		got = queryScalar(t, api, `shardlog_sink_events_written_total{sink="discard",job="shardlog"}`)
		if got == strconv.FormatUint(want, 10) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s Prometheus has shardlog_sink_events_written_total = %q, want %d", got, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Scraped together with the written count, or earlier.
	require.Equal(t, strconv.Itoa(n), queryScalar(t, api, `shardlog_events_accepted_total{level="INFO"}`))
	t.Logf("Prometheus saw %s events written, %v after the start", got, time.Since(start).Round(time.Millisecond))
}

// serve serves h on a loopback port until the end of the test and
// returns its host:port.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a process's output for the test log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startPrometheus starts Prometheus scraping target every second, with its
// storage in a temporary directory, and waits (30s at most) until it is
// ready. The process is stopped at the end of the test: SIGTERM, then
// SIGKILL after 10s; on Linux it is also killed if the test binary dies.
// A port lost to a race between freePort and Prometheus is retried.
func startPrometheus(t *testing.T, bin, target string) (api string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: shardlog
    static_configs:
      - targets: ["%s"]
`, target), 0o644))

	for attempt := 1; ; attempt++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		logs := &syncBuffer{}
		cmd := exec.Command(bin,
			"--config.file="+cfg,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data%d", attempt)),
			"--web.listen-address="+addr,
			"--log.level=warn",
		)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.SysProcAttr = procAttr()
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}

		err := waitReady("http://"+addr, exited, 30*time.Second)
		if err == nil {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("prometheus output:\n%s", logs)
				}
			})
			return "http://" + addr
		}
		stop()
		if errors.Is(err, errExited) && attempt < 3 {
			t.Logf("prometheus exited before it was ready (attempt %d), retrying:\n%s", attempt, logs)
			continue
		}
		t.Fatalf("prometheus: %v\n%s", err, logs)
	}
}

var errExited = errors.New("exited before it was ready")

// waitReady polls base's /-/ready until it answers 200.
func waitReady(base string, exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return errExited
		default:
		}
		if resp, err := client.Get(base + "/-/ready"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// queryScalar runs an instant query and returns the value of its only
// series, "" while there is none.
func queryScalar(t *testing.T, api, query string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(api + "/api/v1/query?query=" + url.QueryEscape(query))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var r struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"` // [unix time, "value"]
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &r), "%s", body)
	require.Equal(t, "success", r.Status, "%s", body)
	require.Equal(t, "vector", r.Data.ResultType)
	switch len(r.Data.Result) {
	case 0:
		return ""
	case 1:
		v, ok := r.Data.Result[0].Value[1].(string)
		require.True(t, ok, "%s", body)
		return v
	}
	t.Fatalf("query %s: want one series, got %s", query, body)
	return ""
}
