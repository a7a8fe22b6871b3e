package sinks

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// Defaults of HTTPOptions.
const (
	// DefaultHTTPMaxEntries is how many records a request holds at most
	// when HTTPOptions.MaxEntries is zero.
	DefaultHTTPMaxEntries = 1000
	// DefaultHTTPMaxBytes is how many bytes of records (before gzip) a
	// request holds at most when HTTPOptions.MaxBytes is zero: below the
	// smallest limit common log intakes put on a request body.
	DefaultHTTPMaxBytes = 1 << 20
	// DefaultHTTPTimeout bounds a whole request, response body included,
	// with the client NewHTTP makes when HTTPOptions.Client is nil; the
	// ctx of the Write usually ends it sooner.
	DefaultHTTPTimeout = 30 * time.Second
)

// ContentTypeNDJSON is the Content-Type of a body of JSON lines.
const ContentTypeNDJSON = "application/x-ndjson"

// httpReserved lists the headers HTTPOptions.Header may not set: the
// sink and the client write them from the body.
var httpReserved = []string{"Content-Length", "Content-Encoding", "Transfer-Encoding", "Host"}

// HTTPOptions configures NewHTTP. Only URL is required.
type HTTPOptions struct {
	// URL is where batches are POSTed: an absolute http or https URL.
	URL string
	// Encoder encodes the events; nil means format.JSON{}.
	Encoder core.Encoder
	// ContentType is the Content-Type of every request. Empty means
	// ContentTypeNDJSON for format.JSON and format.SlogJSON (the
	// default), and "text/plain; charset=utf-8" for other encoders.
	ContentType string
	// Header holds extra headers sent with every request (an API key,
	// say); it is copied by NewHTTP. It may replace Content-Type and
	// User-Agent (default "shardlog"), but not Content-Length,
	// Content-Encoding, Transfer-Encoding or Host.
	Header http.Header
	// Client sends the requests; nil means a client of the sink's own
	// (see HTTP). A Client given here is used as it is: its timeout,
	// redirect policy and transport apply, and Close leaves it alone.
	Client *http.Client
	// MaxEntries is the most records one request holds; zero means
	// DefaultHTTPMaxEntries.
	MaxEntries int
	// MaxBytes is the most bytes of records (before compression) one
	// request holds; zero means DefaultHTTPMaxBytes. A record larger
	// than MaxBytes is sent alone.
	MaxBytes int
	// Gzip compresses each request body (Content-Encoding: gzip, at
	// gzip.DefaultCompression).
	Gzip bool
}

// HTTP is a core.Sink that POSTs batches of encoded records to a URL:
// by default JSON lines (NDJSON), one record per line.
//
// Requests: a Write sends its batch in order, in as many requests as
// MaxEntries and MaxBytes require, one after the other. A request
// succeeds when the response status is 2xx; the response body is read
// (up to 256 KiB) and closed either way so the connection is reused.
// Write stops at the first request that fails (a transport error or
// another status) and returns the number of entries in the requests that
// succeeded, with an error naming the status (an *HTTPStatusError) or
// the transport error. The exception is 413 (Content Too Large): the
// receiver takes less per request than MaxBytes, so Write sends the same
// records again in requests of half as many, down to one; a single
// record refused with 413 is rejected alone (core.ErrRejected), and the
// engine writes the rest at once. Otherwise it never retries: the
// engine retries what a Write reports unwritten (SinkRetry), and its
// breaker and fallback deal with an endpoint that stays down. A request that failed after the server
// took it (a response lost on the way back) is therefore sent again by
// the engine's retry: delivery is at least once.
//
// The default client (Client nil) is the sink's own: a transport with
// proxies from the environment, a 10s dial and TLS handshake timeout,
// a 30s wait for response headers, HTTP/2 when the server offers it, and
// a DefaultHTTPTimeout bound on each request. It follows 307 and 308
// redirects, which resend the body, and treats any other redirect as a
// failure rather than let it turn the POST into a GET.
//
// Context: each request is made with ctx, so ctx's deadline or
// cancellation ends it; the error then wraps ctx's error.
//
// Encoding: HTTP implements core.Encoding, so the engine encodes each
// event once in its flushers; a core.Entry without a Line is encoded
// here. Each request's body is copied into one reused buffer.
//
// Flush has nothing to do: each Write sends what it is given. Close
// releases the idle connections of the sink's own client. After Close
// every method, Close included, returns ErrClosed.
//
// HTTP is not safe for concurrent use; the engine calls it from one
// goroutine at a time, as core.Sink requires.
type HTTP struct {
	url        string
	safeURL    string // url without user info and query, for errors
	enc        core.Encoder
	header     http.Header // every request's headers, Content-Encoding included
	client     *http.Client
	ownClient  bool
	maxEntries int
	maxBytes   int
	gzip       bool

	// Scratch reused from request to request.
	body    []byte         // the records of one request
	bodies  *requestBodies // the request bodies over body and zbuf not closed yet
	scratch []byte         // encodes an entry without a Line
	zbuf    bytes.Buffer   // the compressed body
	zw      *gzip.Writer

	closed bool
}

var (
	_ core.Sink     = (*HTTP)(nil)
	_ core.Encoding = (*HTTP)(nil)
)

// HTTPStatusError is the error of a request answered with a status other
// than 2xx.
type HTTPStatusError struct {
	StatusCode int
	Status     string // as the response gives it: "503 Service Unavailable"
	// Body is the start of the response body (up to 512 bytes), which
	// often says why.
	Body string
}

// Unwrap gives core.ErrPermanent for a 4xx status other than 408, 425
// and 429: the receiver refused the request itself (malformed, too large,
// unauthorised), and the same request will be refused again, so the
// engine does not retry it. Other statuses unwrap to nothing and are
// retried under the sink's retry policy.
func (e *HTTPStatusError) Unwrap() error {
	switch c := e.StatusCode; {
	case c == http.StatusRequestTimeout, c == http.StatusTooEarly, c == http.StatusTooManyRequests:
		return nil
	case c >= 400 && c <= 499:
		return core.ErrPermanent
	}
	return nil
}

func (e *HTTPStatusError) Error() string {
	if e.Body == "" {
		return "status " + e.Status
	}
	return "status " + e.Status + ": " + strconv.Quote(e.Body)
}

// NewHTTP returns an HTTP sink configured by opts. It checks opts but
// sends nothing: the first Write does.
func NewHTTP(opts HTTPOptions) (*HTTP, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sinks: http: URL must be an absolute http or https URL, got %q", opts.URL)
	}
	switch {
	case opts.MaxEntries < 0:
		return nil, fmt.Errorf("sinks: http: MaxEntries must be >= 0, got %d", opts.MaxEntries)
	case opts.MaxBytes < 0:
		return nil, fmt.Errorf("sinks: http: MaxBytes must be >= 0, got %d", opts.MaxBytes)
	}
	for _, k := range httpReserved {
		if _, ok := opts.Header[k]; ok {
			return nil, fmt.Errorf("sinks: http: Header must not set %s: the sink writes it", k)
		}
	}
	h := &HTTP{
		url:        opts.URL,
		safeURL:    (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String(),
		enc:        opts.Encoder,
		client:     opts.Client,
		maxEntries: opts.MaxEntries,
		maxBytes:   opts.MaxBytes,
		gzip:       opts.Gzip,
	}
	if h.enc == nil {
		h.enc = format.JSON{}
	}
	if h.maxEntries == 0 {
		h.maxEntries = DefaultHTTPMaxEntries
	}
	if h.maxBytes == 0 {
		h.maxBytes = DefaultHTTPMaxBytes
	}
	if h.client == nil {
		h.client, h.ownClient = newHTTPClient(), true
	}
	h.header = http.Header{"User-Agent": {"shardlog"}}
	if ct := opts.ContentType; ct != "" {
		h.header.Set("Content-Type", ct)
	} else {
		switch h.enc.(type) {
		case format.JSON, *format.JSON, format.SlogJSON, *format.SlogJSON:
			h.header.Set("Content-Type", ContentTypeNDJSON)
		default:
			h.header.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	for k, vs := range opts.Header {
		h.header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if h.gzip {
		h.header.Set("Content-Encoding", "gzip")
		h.zw = gzip.NewWriter(io.Discard)
	}
	return h, nil
}

// newHTTPClient returns the client of a sink given none; see HTTP.
func newHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		Timeout: DefaultHTTPTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.Method != http.MethodPost { // a 301, 302 or 303 made it a GET
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		},
	}
}

// Encoder returns the sink's encoder.
func (h *HTTP) Encoder() core.Encoder { return h.enc }

// Write POSTs the batch in one or more requests; see HTTP.
func (h *HTTP) Write(ctx context.Context, batch []core.Entry) (int, error) {
	if h.closed {
		return 0, ErrClosed
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sinks: http: %w", err)
	}
	written := 0
	limit := h.maxEntries // halved by each 413 answer within this Write
	for written < len(batch) {
		body, k := h.fill(batch[written:], limit)
		err := h.post(ctx, body)
		h.keep(body)
		var status *HTTPStatusError
		if errors.As(err, &status) && status.StatusCode == http.StatusRequestEntityTooLarge {
			if k > 1 {
				// The receiver takes less per request than MaxBytes:
				// send the same records in halves.
				limit = k / 2
				continue
			}
			// One record, too large for the receiver: it alone fails.
			return written, fmt.Errorf("%w: %w", err, core.ErrRejected)
		}
		if err != nil {
			return written, err
		}
		written += k
	}
	return written, nil
}

// fill copies the records of the next request, from the start of batch
// and at most limit of them, into the body buffer, and returns it with
// their count.
func (h *HTTP) fill(batch []core.Entry, limit int) (body []byte, n int) {
	body = h.body[:0]
	for n < len(batch) && n < limit {
		line := batch[n].Line
		if line == nil {
			h.scratch = h.enc.Append(h.scratch[:0], batch[n].Event)
			line = h.scratch
		}
		if n > 0 && len(body)+len(line) > h.maxBytes {
			break
		}
		body = append(body, line...)
		n++
	}
	return body, n
}

// keep stores the body buffer for the next request, unless it grew past
// what a request of MaxBytes needs, or the transport may still read it.
func (h *HTTP) keep(body []byte) {
	h.body = nil
	if h.bodies != nil && h.bodies.inUse() {
		// A transport may go on reading a request's body after the
		// response came back (an early answer, such as a 413 sent on the
		// Content-Length alone), and closes it when done: the buffers it
		// reads are left to it, and the next request gets new ones.
		h.bodies = nil // a new count for the new buffers
		h.zbuf = bytes.Buffer{}
		return
	}
	if cap(body) <= max(maxRetainedBuffer, 2*h.maxBytes) {
		h.body = body[:0]
	}
	if cap(h.scratch) > maxRetainedBuffer {
		h.scratch = nil
	}
	if h.zbuf.Cap() > max(maxRetainedBuffer, 2*h.maxBytes) {
		h.zbuf = bytes.Buffer{}
	}
}

// requestBodies counts the request bodies made from the body buffer that
// the transport has not closed yet.
type requestBodies struct{ unclosed atomic.Int32 }

func (r *requestBodies) open(p []byte) io.ReadCloser {
	r.unclosed.Add(1)
	return &requestBody{Reader: bytes.NewReader(p), owner: r}
}

func (r *requestBodies) inUse() bool { return r.unclosed.Load() != 0 }

// requestBody is a request's body over the body buffer; Close, which the
// transport calls when it is done reading, releases the buffer.
type requestBody struct {
	*bytes.Reader
	owner  *requestBodies
	closed atomic.Bool
}

func (b *requestBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.owner.unclosed.Add(-1)
	}
	return nil
}

// post sends one request and reads its response.
func (h *HTTP) post(ctx context.Context, body []byte) error {
	if h.gzip {
		h.zbuf.Reset()
		h.zw.Reset(&h.zbuf)
		_, _ = h.zw.Write(body) // a bytes.Buffer does not fail
		_ = h.zw.Close()
		body = h.zbuf.Bytes()
	}
	if h.bodies == nil {
		h.bodies = new(requestBodies)
	}
	bodies := h.bodies
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bodies.open(body))
	if err != nil {
		return fmt.Errorf("sinks: http: %w", err)
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return bodies.open(body), nil } // 307, 308
	req.Header = h.header.Clone()
	resp, err := h.client.Do(req)
	if err != nil {
		// The client's *url.Error names the URL with its query, which
		// may hold a key; name the safe one instead.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return fmt.Errorf("sinks: http: POST %s: %w: %w", h.safeURL, cerr, err)
		}
		return fmt.Errorf("sinks: http: POST %s: %w", h.safeURL, err)
	}
	defer func() {
		// Read what is left, within reason, so the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 256<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("sinks: http: POST %s: %w", h.safeURL,
		&HTTPStatusError{StatusCode: resp.StatusCode, Status: resp.Status, Body: string(bytes.TrimSpace(snippet))})
}

// Flush returns nil, or ErrClosed after Close: Write keeps nothing back.
func (h *HTTP) Flush(context.Context) error {
	if h.closed {
		return ErrClosed
	}
	return nil
}

// Close releases the idle connections of the sink's own client (a Client
// given in HTTPOptions is left alone). A second Close returns ErrClosed.
func (h *HTTP) Close(context.Context) error {
	if h.closed {
		return ErrClosed
	}
	h.closed = true
	if h.ownClient {
		h.client.CloseIdleConnections()
	}
	h.body, h.scratch, h.zbuf = nil, nil, bytes.Buffer{}
	return nil
}
