package stress

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
)

// flakyCollector is an HTTP log receiver that refuses some requests: every
// 5th with 503 (the engine retries it) and every 11th with 400 (permanent:
// not retried). It keeps the records of the requests it accepts.
type flakyCollector struct {
	mu       sync.Mutex
	requests int
	refused  int
	last     map[int64]int64 // producer → last sequence received
	got      int
	problems []string
}

func (c *flakyCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	switch {
	case c.requests%11 == 0:
		c.refused++
		http.Error(w, "malformed", http.StatusBadRequest)
		return
	case c.requests%5 == 0:
		c.refused++
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ P, S *int64 }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.P == nil || rec.S == nil {
			c.problems = append(c.problems, "bad record: "+sc.Text())
			continue
		}
		if last, ok := c.last[*rec.P]; ok && *rec.S <= last {
			c.problems = append(c.problems, "out of order or twice: "+sc.Text())
		}
		c.last[*rec.P] = *rec.S
		c.got++
	}
}

// The HTTP sink under many producers, against a receiver that refuses one
// request in five for a while (503, retried) and one in eleven for good
// (400, ErrPermanent). Checked: what the receiver accepted is exactly what
// the engine counted written, once and in each producer's order; every
// other event is counted failed, none dropped; every refused request is
// one sink error (retried or not).
func TestHTTPSinkAgainstAFlakyReceiver(t *testing.T) {
	c := &flakyCollector{last: map[int64]int64{}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	sink, err := shardlog.NewHTTP(shardlog.HTTPOptions{URL: srv.URL})
	require.NoError(t, err)
	e, err := shardlog.New(resilientSinkOptions(
		shardlog.WithSink(sink, shardlog.SinkName("http"), shardlog.SinkRetry(retryOnce), shardlog.SinkWithoutBreaker()))...)
	require.NoError(t, err)
	counts := logLoad(t, e, scaled(1000))
	rep := shutdown(t, e)

	s := sinkStats(t, rep, "http")
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Logf("http: %d requests, %d refused; written %d, failed %d, retries %d, errors %d",
		c.requests, c.refused, s.Written, s.Failed, s.Retries, s.Errors)
	require.Empty(t, c.problems)
	requireExact(t, s, sum(counts), c.got)
	requireOnlyDrops(t, s)
	require.Positive(t, s.Failed, "the 400s failed their records for good")
	require.Positive(t, s.Retries, "the 503s were retried")
	require.Equal(t, uint64(c.refused), s.Errors, "one error per refused request")
}
