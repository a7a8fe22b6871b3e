package core_test

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
)

var (
	_ slog.Leveler             = core.LevelInfo
	_ encoding.TextMarshaler   = core.LevelInfo
	_ encoding.TextUnmarshaler = new(core.Level)
	_ encoding.TextMarshaler   = new(core.LevelVar)
	_ encoding.TextUnmarshaler = new(core.LevelVar)
	_ http.Handler             = new(core.LevelVar)
)

// textLevels are levels with the text MarshalText writes for them.
var textLevels = []struct {
	l    core.Level
	text string
}{
	{core.LevelTrace, "TRACE"}, {core.LevelDebug, "DEBUG"}, {core.LevelInfo, "INFO"},
	{core.LevelWarn, "WARN"}, {core.LevelError, "ERROR"}, {core.LevelFatal, "FATAL"},
	{core.LevelInfo + 2, "INFO+2"}, {core.LevelDebug - 4, "TRACE"}, {core.LevelTrace - 4, "TRACE-4"},
	{core.LevelDebug + 1, "DEBUG+1"}, {core.LevelFatal + 100, "FATAL+100"}, {core.Level(-100), "TRACE-92"},
}

func TestLevelIsSlogLeveler(t *testing.T) {
	for _, c := range textLevels {
		require.Equal(t, slog.Level(c.l), c.l.Level(), c.text)
	}
	require.Equal(t, slog.LevelWarn, core.LevelWarn.Level())
	h := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: core.LevelWarn})
	require.False(t, h.Enabled(context.Background(), slog.LevelInfo))
	require.True(t, h.Enabled(context.Background(), slog.LevelWarn))
}

func TestLevelTextRoundTrip(t *testing.T) {
	for _, c := range textLevels {
		b, err := c.l.MarshalText()
		require.NoError(t, err)
		require.Equal(t, c.text, string(b))
		var got core.Level
		require.NoError(t, got.UnmarshalText(b), c.text)
		require.Equal(t, c.l, got, c.text)
	}
	for in, want := range map[string]core.Level{
		"info": core.LevelInfo, "Warning": core.LevelWarn, "warning+1": core.LevelWarn + 1,
		"debug-4": core.LevelTrace, "DEBUG-4": core.LevelTrace, " error ": core.LevelError,
		"4": core.LevelWarn, "-3": core.LevelDebug + 1, "0": core.LevelInfo, "17": core.LevelFatal + 5,
	} {
		got := core.LevelFatal
		require.NoError(t, got.UnmarshalText([]byte(in)), in)
		require.Equal(t, want, got, in)
	}
}

func TestLevelUnmarshalTextErrorNamesText(t *testing.T) {
	for _, bad := range []string{"", "verbose", "INFO+x", "inf0", "1.5"} {
		l := core.LevelError
		err := l.UnmarshalText([]byte(bad))
		require.ErrorContains(t, err, fmt.Sprintf("unknown level %q", bad))
		require.Equal(t, core.LevelError, l, "unchanged after an error")
	}
}

type levelConfig struct {
	Level core.Level `json:"level"`
}

func TestLevelJSON(t *testing.T) {
	// encoding/json uses MarshalText/UnmarshalText: no MarshalJSON needed.
	for _, c := range textLevels {
		b, err := json.Marshal(levelConfig{c.l})
		require.NoError(t, err)
		require.Equal(t, `{"level":"`+c.text+`"}`, string(b))
		var got levelConfig
		require.NoError(t, json.Unmarshal(b, &got), c.text)
		require.Equal(t, c.l, got.Level, c.text)
	}
	for in, want := range map[string]core.Level{
		`{"level":"debug"}`: core.LevelDebug, `{"level":"warning"}`: core.LevelWarn,
		`{"level":"info+2"}`: core.LevelInfo + 2, `{"level":"DEBUG-4"}`: core.LevelTrace,
		`{"level":"-4"}`: core.LevelDebug, `{"level":"12"}`: core.LevelFatal,
	} {
		var got levelConfig
		require.NoError(t, json.Unmarshal([]byte(in), &got), in)
		require.Equal(t, want, got.Level, in)
	}

	// Map keys use the text too.
	b, err := json.Marshal(map[core.Level]int{core.LevelWarn: 1, core.LevelInfo + 2: 2})
	require.NoError(t, err)
	require.Equal(t, `{"INFO+2":2,"WARN":1}`, string(b))
	var m map[core.Level]int
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, map[core.Level]int{core.LevelWarn: 1, core.LevelInfo + 2: 2}, m)
}

func TestLevelJSONErrors(t *testing.T) {
	got := levelConfig{core.LevelError}
	err := json.Unmarshal([]byte(`{"level":"verbose"}`), &got)
	require.ErrorContains(t, err, `unknown level "verbose"`)
	require.Equal(t, core.LevelError, got.Level)

	// As for slog.Level, a JSON number is not read: the text form is a string.
	err = json.Unmarshal([]byte(`{"level":4}`), &got)
	var te *json.UnmarshalTypeError
	require.ErrorAs(t, err, &te)
	require.Equal(t, core.LevelError, got.Level)
}

func TestLevelVarText(t *testing.T) {
	var v core.LevelVar
	b, err := v.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "INFO", string(b))

	require.NoError(t, v.UnmarshalText([]byte("debug-4")))
	require.Equal(t, core.LevelTrace, v.Level())
	b, err = v.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "TRACE", string(b))

	require.ErrorContains(t, v.UnmarshalText([]byte("loud")), `unknown level "loud"`)
	require.Equal(t, core.LevelTrace, v.Level(), "unchanged after an error")

	// In a configuration struct (addressable, since the methods have
	// pointer receivers).
	var cfg struct {
		Level *core.LevelVar `json:"level"`
		Inner core.LevelVar  `json:"inner"`
	}
	cfg.Level = new(core.LevelVar)
	require.NoError(t, json.Unmarshal([]byte(`{"level":"warn+1","inner":"error"}`), &cfg))
	require.Equal(t, core.LevelWarn+1, cfg.Level.Level())
	require.Equal(t, core.LevelError, cfg.Inner.Level())
	b, err = json.Marshal(&cfg)
	require.NoError(t, err)
	require.Equal(t, `{"level":"WARN+1","inner":"ERROR"}`, string(b))
}

// serve sends one request to v and returns the recorded answer.
func serve(v *core.LevelVar, method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	v.ServeHTTP(rec, req)
	return rec
}

func requireJSONAnswer(t *testing.T, rec *httptest.ResponseRecorder, code int) {
	t.Helper()
	require.Equal(t, code, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
}

func TestLevelVarServeHTTPGet(t *testing.T) {
	var v core.LevelVar
	for _, c := range []struct {
		l    core.Level
		body string
	}{
		{core.LevelInfo, `{"level":"info"}`}, {core.LevelDebug, `{"level":"debug"}`},
		{core.LevelWarn, `{"level":"warn"}`}, {core.LevelFatal, `{"level":"fatal"}`},
		{core.LevelInfo + 2, `{"level":"info+2"}`}, {core.LevelTrace - 4, `{"level":"trace-4"}`},
	} {
		v.Set(c.l)
		rec := serve(&v, http.MethodGet, "/log/level", "", "")
		requireJSONAnswer(t, rec, http.StatusOK)
		require.Equal(t, c.body+"\n", rec.Body.String())
	}

	// A GET ignores any body or query.
	v.Set(core.LevelError)
	rec := serve(&v, http.MethodGet, "/log/level?level=debug", "application/json", `{"level":"debug"}`)
	requireJSONAnswer(t, rec, http.StatusOK)
	require.Equal(t, `{"level":"error"}`+"\n", rec.Body.String())
	require.Equal(t, core.LevelError, v.Level())
}

func TestLevelVarServeHTTPPut(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name, target, contentType, body string
		want                            core.Level
		answer                          string
	}{
		{"json", "/", "application/json", `{"level":"debug"}`, core.LevelDebug, "debug"},
		{"json charset", "/", "application/json; charset=utf-8", `{"level":"warn"}`, core.LevelWarn, "warn"},
		{"json no content type", "/", "", `{"level":"fatal"}`, core.LevelFatal, "fatal"},
		{"json upper case", "/", "application/json", ` {"level":"TRACE"} `, core.LevelTrace, "trace"},
		{"json warning", "/", "application/json", `{"level":"warning"}`, core.LevelWarn, "warn"},
		{"json offset", "/", "application/json", `{"level":"info+2"}`, core.LevelInfo + 2, "info+2"},
		{"json negative offset", "/", "application/json", `{"level":"DEBUG-4"}`, core.LevelTrace, "trace"},
		{"json number text", "/", "application/json", `{"level":"-3"}`, core.LevelDebug + 1, "debug+1"},
		{"json other members", "/", "application/json", `{"level":"error","by":"ops"}`, core.LevelError, "error"},
		{"form", "/", form, "level=debug", core.LevelDebug, "debug"},
		{"form charset", "/", form + "; charset=utf-8", "level=warn&x=1", core.LevelWarn, "warn"},
		{"form escaped", "/", form, "level=info%2B2", core.LevelInfo + 2, "info+2"},
		{"query", "/log/level?level=debug", "", "", core.LevelDebug, "debug"},
		{"query with form type", "/?level=error", form, "", core.LevelError, "error"},
		{"query with json type", "/?level=warn", "application/json", "  ", core.LevelWarn, "warn"},
		{"query escaped", "/?level=info%2B2", "", "", core.LevelInfo + 2, "info+2"},
		{"query and form without level", "/?level=trace", form, "x=1", core.LevelTrace, "trace"},
		{"query and json without level", "/?level=trace", "application/json", `{}`, core.LevelTrace, "trace"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v core.LevelVar
			v.Set(core.Level(3)) // none of the wanted levels
			rec := serve(&v, http.MethodPut, c.target, c.contentType, c.body)
			requireJSONAnswer(t, rec, http.StatusOK)
			require.Equal(t, `{"level":"`+c.answer+`"}`+"\n", rec.Body.String())
			require.Equal(t, c.want, v.Level(), "seen by Level at once")

			rec = serve(&v, http.MethodGet, "/", "", "")
			require.Equal(t, `{"level":"`+c.answer+`"}`+"\n", rec.Body.String())
		})
	}
}

func TestLevelVarServeHTTPBadInput(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name, target, contentType, body string
		err                             string // in the error message
	}{
		{"json unknown level", "/", "application/json", `{"level":"verbose"}`, `unknown level \"verbose\"`},
		{"json empty level", "/", "application/json", `{"level":""}`, `unknown level \"\"`},
		{"json bad offset", "/", "application/json", `{"level":"info+x"}`, `unknown level \"info+x\"`},
		{"json malformed", "/", "application/json", `{"level":"debug"`, "malformed JSON body"},
		{"json trailing data", "/", "application/json", `{"level":"debug"} x`, "malformed JSON body"},
		{"json not an object", "/", "application/json", `"debug"`, "JSON body must be an object"},
		{"json number", "/", "application/json", `{"level":-4}`, "level must be a JSON string"},
		{"json missing level", "/", "application/json", `{"lvl":"debug"}`, "missing level"},
		{"json null level", "/", "application/json", `{"level":null}`, "missing level"},
		{"empty body", "/", "application/json", "", "missing level"},
		{"no body no type", "/", "", "", "missing level"},
		{"form unknown level", "/", form, "level=loud", `unknown level \"loud\"`},
		{"form missing level", "/", form, "lvl=debug", "missing level"},
		{"form json body", "/", form, `{"level":"debug"}`, "missing level"},
		{"form malformed", "/", form, "level=%zz", "malformed form body"},
		{"form level twice", "/", form, "level=debug&level=info", "level given more than once"},
		{"query unknown level", "/?level=loud", "", "", `unknown level \"loud\"`},
		{"query level twice", "/?level=debug&level=info", "", "", "level given more than once"},
		{"query malformed", "/?level=%zz", "", "", "malformed URL query"},
		{"query and json body", "/?level=debug", "application/json", `{"level":"debug"}`, "both in the URL query and in the body"},
		{"query and form body", "/?level=debug", form, "level=warn", "both in the URL query and in the body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v core.LevelVar
			v.Set(core.LevelError)
			rec := serve(&v, http.MethodPut, c.target, c.contentType, c.body)
			requireJSONAnswer(t, rec, http.StatusBadRequest)
			var answer map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer), rec.Body.String())
			require.Len(t, answer, 1, rec.Body.String())
			require.NotEmpty(t, answer["error"])
			require.Contains(t, rec.Body.String(), c.err)
			require.Equal(t, core.LevelError, v.Level(), "unchanged")
		})
	}
}

func TestLevelVarServeHTTPBodyLimit(t *testing.T) {
	var v core.LevelVar
	v.Set(core.LevelError)
	const limit = 4 << 10

	// A body of exactly 4 KiB is read.
	body := `{"level":"debug"}`
	body += strings.Repeat(" ", limit-len(body))
	rec := serve(&v, http.MethodPut, "/", "application/json", body)
	requireJSONAnswer(t, rec, http.StatusOK)
	require.Equal(t, core.LevelDebug, v.Level())

	// One byte more is refused, however it would have ended.
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
		v.Set(core.LevelError)
		rec = serve(&v, http.MethodPut, "/", ct, body+" ")
		requireJSONAnswer(t, rec, http.StatusRequestEntityTooLarge)
		require.Equal(t, `{"error":"request body larger than 4096 bytes"}`+"\n", rec.Body.String())
		require.Equal(t, core.LevelError, v.Level(), "unchanged")
	}

	// A huge body is not read to its end.
	v.Set(core.LevelError)
	r := &countingReader{n: 1 << 30}
	req := httptest.NewRequest(http.MethodPut, "/?level=debug", r)
	rec = httptest.NewRecorder()
	v.ServeHTTP(rec, req)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	require.LessOrEqual(t, r.read, int64(limit+1<<10))
	require.Equal(t, core.LevelError, v.Level(), "unchanged")
}

// countingReader yields n spaces and counts what was read.
type countingReader struct{ n, read int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.read)]
	for i := range p {
		p[i] = ' '
	}
	r.read += int64(len(p))
	return len(p), nil
}

func TestLevelVarServeHTTPMethodNotAllowed(t *testing.T) {
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions, "BREW"} {
		var v core.LevelVar
		v.Set(core.LevelError)
		rec := serve(&v, m, "/?level=debug", "application/json", `{"level":"debug"}`)
		requireJSONAnswer(t, rec, http.StatusMethodNotAllowed)
		require.Equal(t, "GET, PUT", rec.Header().Get("Allow"), m)
		require.Equal(t, `{"error":"method `+m+` not allowed: use GET or PUT"}`+"\n", rec.Body.String())
		require.Equal(t, core.LevelError, v.Level(), "unchanged")
	}
}

func TestLevelVarServeHTTPConcurrent(t *testing.T) {
	var v core.LevelVar
	mux := http.NewServeMux()
	mux.Handle("/log/level", &v)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := srv.Client()

	levels := []string{"debug", "info", "warn", "error"}
	valid := map[string]bool{}
	for _, l := range levels {
		valid[`{"level":"`+l+`"}`+"\n"] = true
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	do := func(req *http.Request, want string) {
		resp, err := client.Do(req)
		if err != nil {
			errs <- err
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		switch {
		case err != nil:
			errs <- err
		case resp.StatusCode != http.StatusOK:
			errs <- fmt.Errorf("%s: %d %s", req.Method, resp.StatusCode, b)
		case want != "" && string(b) != want:
			errs <- fmt.Errorf("PUT answered %s, want %s", b, want)
		case !valid[string(b)]:
			errs <- fmt.Errorf("%s answered %s", req.Method, b)
		}
	}
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				l := levels[(g+i)%len(levels)]
				req, _ := http.NewRequest(http.MethodPut, srv.URL+"/log/level", strings.NewReader(`{"level":"`+l+`"}`))
				req.Header.Set("Content-Type", "application/json")
				do(req, `{"level":"`+l+`"}`+"\n")
			}
		})
		wg.Go(func() {
			for range 25 {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/log/level", nil)
				do(req, "")
			}
		})
		wg.Go(func() {
			for range 1000 {
				if l := v.Level(); l != core.LevelDebug && l != core.LevelInfo && l != core.LevelWarn && l != core.LevelError {
					errs <- fmt.Errorf("Level() = %v", l)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// Once the writers are done, a PUT is seen by the next Level call.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/log/level?level=fatal", nil)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, core.LevelFatal, v.Level())
}

func ExampleLevelVar_ServeHTTP() {
	var lv core.LevelVar // LevelInfo
	mux := http.NewServeMux()
	mux.Handle("/log/level", &lv)

	do := func(method, body string) {
		req := httptest.NewRequest(method, "/log/level", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Print(method, " ", rec.Code, " ", rec.Body.String())
	}
	do(http.MethodGet, "")
	do(http.MethodPut, `{"level":"debug"}`)
	fmt.Println("Level() =", lv.Level())
	do(http.MethodPut, `{"level":"verbose"}`)
	fmt.Println("Level() =", lv.Level())
	// Output:
	// GET 200 {"level":"info"}
	// PUT 200 {"level":"debug"}
	// Level() = DEBUG
	// PUT 400 {"error":"core: unknown level \"verbose\""}
	// Level() = DEBUG
}
