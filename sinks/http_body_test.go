package sinks_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

// A transport may go on reading a request's body after returning the
// response (net/http: "callers wanting to reuse the body ... must arrange
// to wait for the Close call"), as http.Transport does when a server
// answers early, a 413 on the Content-Length alone. The sink reuses its
// body buffer only once the transport closed every body made from it.
// The RoundTripper here answers 413 and reads the body afterwards.
// Mutation caught: reusing the buffer at once (it read later requests'
// records, records 2, 3, 2, 3 instead of 0-3; a data race under -race
// with a real transport).
func TestHTTPDoesNotReuseABodyTheTransportMayStillRead(t *testing.T) {
	var (
		calls int
		sent  []byte // the first body, as it was when handed to the transport
		got   []byte // the first body, as the transport read it later
		later = make(chan struct{})
		late  = make(chan []byte)
	)
	respond := func(r *http.Request, code int) *http.Response {
		return &http.Response{StatusCode: code, Status: http.StatusText(code),
			Body: io.NopCloser(strings.NewReader("")), Request: r}
	}
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		calls++
		switch calls {
		case 1:
			b, err := r.GetBody() // a copy of the body as it is now
			require.NoError(t, err)
			sent, _ = io.ReadAll(b)
			go func() { // the transport's write loop, still sending
				<-later
				rest, _ := io.ReadAll(r.Body)
				_ = r.Body.Close()
				late <- rest
			}()
			return respond(r, http.StatusRequestEntityTooLarge), nil
		case 3: // the sink has refilled its buffer twice since
			close(later)
			got = <-late
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		return respond(r, http.StatusNoContent), nil
	})}
	h, err := sinks.NewHTTP(sinks.HTTPOptions{URL: "http://collector.invalid/logs", Client: client})
	require.NoError(t, err)

	n, err := h.Write(bg, sinktest.Entries(h, sinktest.Events(4)))
	require.NoError(t, err)
	require.Equal(t, 4, n, "413, then two halves of two records")
	require.Equal(t, 3, calls)
	require.Equal(t, string(sent), string(got), "the first request's body changed under the transport")
}
