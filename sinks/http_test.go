package sinks_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

// request is what an httpServer received in one request, the body
// decompressed when it came gzipped.
type request struct {
	method, path string
	header       http.Header
	body         []byte
}

// httpServer records every request; respond decides each answer (nil:
// 204 No Content).
type httpServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	respond  func(i int, w http.ResponseWriter, r *http.Request) bool // true: answered
	conns    atomic.Int64                                             // new connections
	closed   atomic.Int64                                             // connections closed
}

func newHTTPServer(t *testing.T, respond func(i int, w http.ResponseWriter, r *http.Request) bool) *httpServer {
	t.Helper()
	s := &httpServer{respond: respond}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.closed.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *httpServer) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	i := len(s.requests)
	s.requests = append(s.requests, request{r.Method, r.URL.Path, r.Header.Clone(), data})
	s.mu.Unlock()
	if s.respond == nil || !s.respond(i, w, r) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *httpServer) received() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

// bodies returns the body of each request as text.
func (s *httpServer) bodies() []string {
	var out []string
	for _, r := range s.received() {
		out = append(out, string(r.body))
	}
	return out
}

// joinLines returns the encoded lines of evs concatenated, each with its
// '\n': the body of one request holding them.
func joinLines(enc core.Encoder, evs []core.Event) string {
	var b []byte
	for i := range evs {
		b = enc.Append(b, &evs[i])
	}
	return string(b)
}

func TestNewHTTPValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sinks.HTTPOptions
		want string
	}{
		{"NoURL", sinks.HTTPOptions{}, `sinks: http: URL must be an absolute http or https URL, got ""`},
		{"Relative", sinks.HTTPOptions{URL: "/ingest"}, `sinks: http: URL must be an absolute http or https URL, got "/ingest"`},
		{"Scheme", sinks.HTTPOptions{URL: "ftp://host/x"}, `sinks: http: URL must be an absolute http or https URL, got "ftp://host/x"`},
		{"NoHost", sinks.HTTPOptions{URL: "http:///x"}, `sinks: http: URL must be an absolute http or https URL, got "http:///x"`},
		{"Unparsable", sinks.HTTPOptions{URL: "http://host:port:x/"}, `sinks: http: URL must be an absolute http or https URL, got "http://host:port:x/"`},
		{"NegativeEntries", sinks.HTTPOptions{URL: "http://h/", MaxEntries: -1}, "sinks: http: MaxEntries must be >= 0, got -1"},
		{"NegativeBytes", sinks.HTTPOptions{URL: "http://h/", MaxBytes: -2}, "sinks: http: MaxBytes must be >= 0, got -2"},
		{"ContentLength", sinks.HTTPOptions{URL: "http://h/", Header: http.Header{"Content-Length": {"1"}}}, "sinks: http: Header must not set Content-Length: the sink writes it"},
		{"ContentEncoding", sinks.HTTPOptions{URL: "http://h/", Header: http.Header{"Content-Encoding": {"br"}}}, "sinks: http: Header must not set Content-Encoding: the sink writes it"},
		{"Host", sinks.HTTPOptions{URL: "http://h/", Header: http.Header{"Host": {"x"}}}, "sinks: http: Header must not set Host: the sink writes it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := sinks.NewHTTP(tc.opts)
			require.EqualError(t, err, tc.want)
			require.Nil(t, h)
		})
	}
}

func TestHTTPPostsRecords(t *testing.T) {
	srv := newHTTPServer(t, nil)
	evs := sinktest.Events(5)
	for _, tc := range []struct {
		name        string
		opts        sinks.HTTPOptions
		contentType string
	}{
		{"DefaultJSON", sinks.HTTPOptions{}, "application/x-ndjson"},
		{"SlogJSON", sinks.HTTPOptions{Encoder: format.SlogJSON{}}, "application/x-ndjson"},
		{"Text", sinks.HTTPOptions{Encoder: format.Text{}}, "text/plain; charset=utf-8"},
		{"ContentType", sinks.HTTPOptions{Encoder: format.Text{}, ContentType: "text/x-logfmt"}, "text/x-logfmt"},
		{"HeaderReplacesContentType", sinks.HTTPOptions{Header: http.Header{"content-type": {"application/json-seq"}}}, "application/json-seq"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.received())
			opts := tc.opts
			opts.URL = srv.URL + "/v1/logs?tenant=a"
			if opts.Header == nil {
				opts.Header = http.Header{"X-Api-Key": {"k1", "k2"}}
			}
			h, err := sinks.NewHTTP(opts)
			require.NoError(t, err)
			defer h.Close(bg)
			n, err := h.Write(bg, sinktest.Entries(h, evs))
			require.NoError(t, err)
			require.Equal(t, 5, n)
			got := srv.received()[before:]
			require.Len(t, got, 1)
			r := got[0]
			require.Equal(t, "POST", r.method)
			require.Equal(t, "/v1/logs", r.path)
			require.Equal(t, joinLines(h.Encoder(), evs), string(r.body))
			require.Equal(t, []string{tc.contentType}, r.header["Content-Type"])
			require.Equal(t, []string{"shardlog"}, r.header["User-Agent"])
			require.Empty(t, r.header.Get("Content-Encoding"))
			if tc.opts.Header == nil {
				require.Equal(t, []string{"k1", "k2"}, r.header["X-Api-Key"])
			}
		})
	}
}

func TestHTTPEncodesEntriesWithoutLine(t *testing.T) {
	srv := newHTTPServer(t, nil)
	h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL})
	require.NoError(t, err)
	defer h.Close(bg)
	evs := sinktest.Events(4)
	batch := sinktest.Entries(h, evs)
	batch[0].Line, batch[2].Line = nil, nil
	n, err := h.Write(bg, batch)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Equal(t, []string{joinLines(format.JSON{}, evs)}, srv.bodies())
}

// A batch is split into requests of at most MaxEntries records and
// MaxBytes bytes, in order; a record larger than MaxBytes goes alone.
func TestHTTPSplitsBatches(t *testing.T) {
	evs := sinktest.Events(10)
	enc := format.JSON{}
	size := len(enc.Append(nil, &evs[0])) // the records differ by a few bytes
	big := sinktest.Events(3)
	big[1].Message = strings.Repeat("x", 4*size)
	for _, tc := range []struct {
		name   string
		opts   sinks.HTTPOptions
		evs    []core.Event
		splits [][2]int // the records of each request
	}{
		{"Entries", sinks.HTTPOptions{MaxEntries: 3}, evs, [][2]int{{0, 3}, {3, 6}, {6, 9}, {9, 10}}},
		{"OneEntry", sinks.HTTPOptions{MaxEntries: 1}, evs[:3], [][2]int{{0, 1}, {1, 2}, {2, 3}}},
		{"Bytes", sinks.HTTPOptions{MaxBytes: 2*size + size/2}, evs[:5], [][2]int{{0, 2}, {2, 4}, {4, 5}}},
		{"Both", sinks.HTTPOptions{MaxBytes: 4*size + size/2, MaxEntries: 3}, evs, [][2]int{{0, 3}, {3, 6}, {6, 9}, {9, 10}}},
		{"LargeRecordAlone", sinks.HTTPOptions{MaxBytes: 2 * size}, big, [][2]int{{0, 1}, {1, 2}, {2, 3}}},
		{"Defaults", sinks.HTTPOptions{}, sinktest.Events(2500), [][2]int{{0, 1000}, {1000, 2000}, {2000, 2500}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newHTTPServer(t, nil)
			opts := tc.opts
			opts.URL = srv.URL
			h, err := sinks.NewHTTP(opts)
			require.NoError(t, err)
			defer h.Close(bg)
			n, err := h.Write(bg, sinktest.Entries(h, tc.evs))
			require.NoError(t, err)
			require.Equal(t, len(tc.evs), n)
			var want []string
			for _, s := range tc.splits {
				want = append(want, joinLines(enc, tc.evs[s[0]:s[1]]))
			}
			require.Equal(t, want, srv.bodies())
			if opts.MaxBytes > 0 && tc.name != "LargeRecordAlone" {
				for _, b := range srv.bodies() {
					require.LessOrEqual(t, len(b), opts.MaxBytes)
				}
			}
		})
	}
}

func TestHTTPGzip(t *testing.T) {
	var raw [][]byte
	var mu sync.Mutex
	srv := newHTTPServer(t, nil)
	// Keep the bytes as sent too, to check they are a gzip stream.
	inner := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		raw = append(raw, data)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(data))
		inner.ServeHTTP(w, r)
	})
	h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL, Gzip: true, MaxEntries: 50})
	require.NoError(t, err)
	defer h.Close(bg)
	evs := sinktest.Events(120)
	for range 2 { // the gzip writer and buffer are reused
		n, err := h.Write(bg, sinktest.Entries(h, evs))
		require.NoError(t, err)
		require.Equal(t, 120, n)
	}
	got := srv.received()
	require.Len(t, got, 6)
	for i, r := range got {
		require.Equal(t, "gzip", r.header.Get("Content-Encoding"))
		lo := i % 3 * 50
		require.Equal(t, joinLines(format.JSON{}, evs[lo:min(lo+50, 120)]), string(r.body))
		require.Less(t, len(raw[i]), len(r.body)/3, "compressed")
		require.Equal(t, []byte{0x1f, 0x8b}, raw[i][:2])
	}
}

// A request answered with a status other than 2xx fails the Write: n
// counts the entries of the requests before it, and nothing after it is
// sent.
func TestHTTPStopsAtTheFirstFailedRequest(t *testing.T) {
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusBadRequest, http.StatusFound} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			srv := newHTTPServer(t, func(i int, w http.ResponseWriter, r *http.Request) bool {
				if i != 2 {
					return false
				}
				if code == http.StatusFound {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(code)
				io.WriteString(w, "  try later\n"+strings.Repeat("x", 2000))
				return true
			})
			h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL + "/in", MaxEntries: 3})
			require.NoError(t, err)
			defer h.Close(bg)
			evs := sinktest.Events(12)
			n, err := h.Write(bg, sinktest.Entries(h, evs))
			require.Equal(t, 6, n, "the two requests before the failed one")
			var se *sinks.HTTPStatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, code, se.StatusCode)
			body := "try later\n" + strings.Repeat("x", 500) // 512 bytes read, trimmed
			require.Equal(t, body, se.Body)
			require.Equal(t, fmt.Sprintf("%d %s", code, http.StatusText(code)), se.Status)
			require.EqualError(t, err, "sinks: http: POST "+srv.URL+"/in: status "+se.Status+": "+strconv.Quote(body))
			require.Len(t, srv.received(), 3, "nothing sent after the failed request")
			require.Equal(t, code == http.StatusBadRequest, errors.Is(err, core.ErrPermanent), "only a 4xx is permanent")
			if code == http.StatusFound {
				for _, r := range srv.received() {
					require.Equal(t, "/in", r.path, "the redirect was not followed as a GET")
				}
			}

			// The engine retries the rest: the next Write starts with it.
			n, err = h.Write(bg, sinktest.Entries(h, evs[6:]))
			require.NoError(t, err)
			require.Equal(t, 6, n)
			bodies := srv.bodies()
			require.Equal(t, joinLines(format.JSON{}, evs[6:9]), bodies[3])
			require.Equal(t, int64(1), srv.conns.Load(), "error responses were drained: one connection throughout")
		})
	}
}

// A 307 or 308 redirect is followed with the body.
func TestHTTPFollowsRedirectsThatKeepTheBody(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := newHTTPServer(t, func(i int, w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/old" {
				http.Redirect(w, r, "/new", code)
				return true
			}
			return false
		})
		h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL + "/old"})
		require.NoError(t, err)
		evs := sinktest.Events(3)
		n, err := h.Write(bg, sinktest.Entries(h, evs))
		require.NoError(t, err)
		require.Equal(t, 3, n)
		got := srv.received()
		require.Len(t, got, 2)
		require.Equal(t, "/new", got[1].path)
		require.Equal(t, "POST", got[1].method)
		require.Equal(t, joinLines(format.JSON{}, evs), string(got[1].body))
		require.NoError(t, h.Close(bg))
	}
}

// A transport error fails the Write with nothing written, and names the
// URL without its query, which may hold a key.
func TestHTTPTransportError(t *testing.T) {
	srv := newHTTPServer(t, nil)
	url := srv.URL
	srv.Close()
	h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: url + "/in?api_key=secret"})
	require.NoError(t, err)
	defer h.Close(bg)
	n, err := h.Write(bg, sinktest.Entries(h, sinktest.Events(2)))
	require.Zero(t, n)
	require.ErrorContains(t, err, "sinks: http: POST "+url+"/in: dial tcp ")
	require.ErrorContains(t, err, "connection refused")
	require.NotContains(t, err.Error(), "secret")
}

// A server that does not answer: the Write returns when ctx ends, its
// error wrapping ctx's, with nothing written.
func TestHTTPHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := newHTTPServer(t, func(i int, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return false
	})
	defer close(release) // before the server's Close, which waits for handlers
	h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL})
	require.NoError(t, err)
	defer h.Close(bg)
	for _, tc := range endingContexts {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			n, err := h.Write(ctx, sinktest.Entries(h, sinktest.Events(3)))
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, "sinks: http: POST "+srv.URL+": ")
			require.Zero(t, n)
			require.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

// Close closes the idle connections of the sink's own client; afterwards
// every method returns ErrClosed.
func TestHTTPClose(t *testing.T) {
	srv := newHTTPServer(t, nil)
	h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL})
	require.NoError(t, err)
	for range 3 {
		_, err = h.Write(bg, sinktest.Entries(h, sinktest.Events(2)))
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), srv.conns.Load(), "one connection, reused")
	require.Zero(t, srv.closed.Load())
	require.NoError(t, h.Close(bg))
	require.Eventually(t, func() bool { return srv.closed.Load() == 1 }, 5*time.Second, time.Millisecond)

	n, err := h.Write(bg, sinktest.Entries(h, sinktest.Events(1)))
	require.ErrorIs(t, err, sinks.ErrClosed)
	require.Zero(t, n)
	require.ErrorIs(t, h.Flush(bg), sinks.ErrClosed)
	require.ErrorIs(t, h.Close(bg), sinks.ErrClosed)
	require.Len(t, srv.received(), 3)
}

// A Client given in the options is used, and left alone by Close.
func TestHTTPUsesTheGivenClient(t *testing.T) {
	srv := newHTTPServer(t, nil)
	var used atomic.Int64
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	defer client.CloseIdleConnections()
	h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL, Client: client})
	require.NoError(t, err)
	_, err = h.Write(bg, sinktest.Entries(h, sinktest.Events(1)))
	require.NoError(t, err)
	require.Equal(t, int64(1), used.Load())
	require.NoError(t, h.Close(bg))
	time.Sleep(20 * time.Millisecond)
	require.Zero(t, srv.closed.Load(), "the caller's client keeps its connection")
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHTTPConformance(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "Plain", true: "Gzip"}[gz], func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
				srv := newHTTPServer(t, nil)
				h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL, Gzip: gz, MaxEntries: 7})
				require.NoError(t, err)
				return h, func() []string {
					return sinktest.SplitLines([]byte(strings.Join(srv.bodies(), "")))
				}
			}, sinktest.WithFormat(sinktest.JSONLines))
		})
	}
}

// The sink under a whole engine, against a server that fails one request
// in three: every event is accounted for exactly. Without retries, what
// the server refused is failed, and everything it took is written, once
// and in order; with the engine's retries, everything is written, once.
func TestHTTPThroughEngineAccountsExactly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		retry shardlog.RetryPolicy
	}{
		{"NoRetry", shardlog.NoRetry},
		{"Retry", shardlog.RetryPolicy{MaxAttempts: 5, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Multiplier: 1, MaxElapsed: 10 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var refused atomic.Int64
			srv := newHTTPServer(t, func(i int, w http.ResponseWriter, r *http.Request) bool {
				if i%3 != 1 {
					return false
				}
				refused.Add(1)
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return true
			})
			h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL, MaxEntries: 4})
			require.NoError(t, err)
			e, err := shardlog.New(
				shardlog.WithSink(h, shardlog.SinkName("http"), shardlog.SinkRetry(tc.retry), shardlog.SinkWithoutBreaker()),
				shardlog.WithErrorHandler(func(error) {}),
				engine.WithBatchSize(10),
			)
			require.NoError(t, err)
			const n = 300
			for i := range n {
				e.Logger().Info("event", shardlog.Int("i", i))
				if i%50 == 49 {
					require.NoError(t, e.Logger().Sync()) // many small batches
				}
			}
			ctx, cancel := context.WithTimeout(bg, 30*time.Second)
			defer cancel()
			_, err = e.Shutdown(ctx)
			require.NoError(t, err)

			// What the server took (2xx), in the order it took it.
			var took []int
			for i, r := range srv.received() {
				if i%3 == 1 {
					continue
				}
				for _, line := range sinktest.SplitLines(r.body) {
					var ev struct{ I int }
					require.NoError(t, json.Unmarshal([]byte(line), &ev))
					took = append(took, ev.I)
				}
			}
			for k := 1; k < len(took); k++ {
				require.Greater(t, took[k], took[k-1], "in order, none twice")
			}
			m := e.Metrics(false).Sinks[0]
			require.Equal(t, uint64(n), m.Accepted)
			require.Equal(t, uint64(len(took)), m.Written, "written is what the server took")
			require.Equal(t, m.Accepted, m.Written+m.Failed, "%+v", m)
			require.Zero(t, m.Dropped.Total())
			require.Zero(t, m.Pending)
			require.Positive(t, refused.Load())
			if tc.name == "Retry" {
				// Each refused request is retried once, and the retry
				// (the next request) is taken: no batch fails for good.
				require.Equal(t, uint64(n), m.Written)
				require.Equal(t, uint64(refused.Load()), m.Retries)
				require.Equal(t, uint64(refused.Load()), m.Errors, "every refused request is a failed call, retried or not")
			} else {
				require.Positive(t, m.Failed)
				require.Zero(t, m.Retries)
				require.Equal(t, uint64(refused.Load()), m.Errors, "one failed Write per refused request")
				require.Contains(t, m.LastError, `sinks: http: POST `+srv.URL+`: status 503 Service Unavailable: "busy"`)
			}
		})
	}
}

// A 4xx answer other than 408, 425 and 429 is permanent: the engine does
// not retry it. Mutation caught: every status permanent, or none.
func TestHTTPStatusErrorIsPermanentForClientErrors(t *testing.T) {
	for code, permanent := range map[int]bool{
		400: true, 401: true, 403: true, 404: true, 413: true, 422: true,
		408: false, 425: false, 429: false, 302: false, 500: false, 503: false,
	} {
		err := fmt.Errorf("wrapped: %w", &sinks.HTTPStatusError{StatusCode: code})
		require.Equal(t, permanent, errors.Is(err, core.ErrPermanent), "%d", code)
	}
}

// A receiver that takes less per request than MaxBytes answers 413: the
// sink sends the same records in smaller requests, and a record too
// large for the receiver alone fails (core.ErrRejected), so the engine
// writes the events after it. Mutations caught: no halving (every
// request of several records fails: most events lost), and a lone
// record's 413 not marked rejected (the rest of its batch fails with it).
func TestHTTPSplitsOn413AndRejectsOnlyTheRecordTooLarge(t *testing.T) {
	const limit = 600 // bytes the receiver takes per request
	srv := newHTTPServer(t, func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if r.ContentLength > limit {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return true
		}
		return false
	})
	h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: srv.URL})
	require.NoError(t, err)
	e, err := shardlog.New(shardlog.WithSink(h, shardlog.SinkName("http")), shardlog.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	const n = 60
	for i := range n {
		if i == n/2 {
			e.Logger().Info(strings.Repeat("x", 2*limit))
		}
		e.Logger().Info("event", shardlog.Int("i", i))
	}
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	rep, err := e.Shutdown(ctx)
	require.NoError(t, err)
	st := rep.Sinks[0]
	require.Equal(t, uint64(n), st.Written, "%+v", st)
	require.Equal(t, uint64(1), st.Failed)
	require.Zero(t, st.Retries)
	var took []int
	for _, r := range srv.received() {
		if len(r.body) > limit {
			continue // answered 413
		}
		for _, line := range sinktest.SplitLines(r.body) {
			var ev struct{ I int }
			require.NoError(t, json.Unmarshal([]byte(line), &ev))
			took = append(took, ev.I)
		}
	}
	require.Len(t, took, n, "every small event reached the receiver once")
	for k := 1; k < len(took); k++ {
		require.Greater(t, took[k], took[k-1], "in order, none twice")
	}
}
