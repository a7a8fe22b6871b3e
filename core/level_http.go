package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxLevelBody bounds the request body LevelVar.ServeHTTP reads.
const maxLevelBody = 4 << 10

// errMissingLevel is the answer to a PUT that names no level.
var errMissingLevel = errors.New(`missing level: send {"level":"debug"} as JSON, or level=debug as a form or in the URL query`)

// ServeHTTP lets a service read or change the level at run time, as zap's
// AtomicLevel does: mount v on an admin mux, mux.Handle("/log/level", &v).
// Every answer is JSON (Content-Type application/json, Cache-Control
// no-store):
//
//   - GET answers 200 {"level":"info"}: the level's String, lower-cased as
//     zap writes it ("debug", "info+2").
//   - PUT sets the level from a JSON body {"level":"debug"}, from a form
//     body level=debug (Content-Type application/x-www-form-urlencoded) or
//     from the URL query (?level=debug); the text is read as ParseLevel
//     reads it. It answers 200 with the new level, as GET does.
//   - A PUT that cannot be read (unknown level, malformed JSON or form, no
//     level, a level given twice) answers 400 {"error":"..."}, naming the
//     problem; a body over 4 KiB answers 413. The level is unchanged.
//   - Any other method answers 405, with Allow: GET, PUT.
//
// Concurrent requests are safe: a PUT is one Set, which loggers see on their
// next call; of concurrent PUTs the last Set wins, and each answer reports
// the level its own request set or read.
func (v *LevelVar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeLevelJSON(w, http.StatusOK, levelBody{v.Level()})
	case http.MethodPut:
		l, code, err := readPutLevel(w, r)
		if err != nil {
			writeLevelJSON(w, code, errorBody{err.Error()})
			return
		}
		v.Set(l)
		writeLevelJSON(w, http.StatusOK, levelBody{l})
	default:
		w.Header().Set("Allow", "GET, PUT")
		writeLevelJSON(w, http.StatusMethodNotAllowed,
			errorBody{"method " + r.Method + " not allowed: use GET or PUT"})
	}
}

// levelBody is the JSON of a level in answers: {"level":"info"}.
type levelBody struct{ l Level }

func (b levelBody) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Level string `json:"level"`
	}{strings.ToLower(b.l.String())})
}

// errorBody is the JSON of an error in answers: {"error":"..."}.
type errorBody struct {
	Error string `json:"error"`
}

func writeLevelJSON(w http.ResponseWriter, code int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body) // cannot fail: strings only
}

// readPutLevel reads the level a PUT names, or returns the status and the
// error to answer with.
func readPutLevel(w http.ResponseWriter, r *http.Request) (Level, int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLevelBody))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return 0, http.StatusRequestEntityTooLarge,
				fmt.Errorf("request body larger than %d bytes", maxLevelBody)
		}
		return 0, http.StatusBadRequest, fmt.Errorf("reading request body: %v", err)
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, http.StatusBadRequest, fmt.Errorf("malformed URL query: %v", err)
	}
	inQuery, fromQuery, err := formLevel(query)
	if err != nil {
		return 0, http.StatusBadRequest, err
	}
	inBody, fromBody := false, ""
	if len(bytes.TrimSpace(body)) > 0 {
		if isForm(r.Header.Get("Content-Type")) {
			var form url.Values
			if form, err = url.ParseQuery(string(body)); err != nil {
				return 0, http.StatusBadRequest, fmt.Errorf("malformed form body: %v", err)
			}
			inBody, fromBody, err = formLevel(form)
		} else {
			inBody, fromBody, err = jsonLevel(body)
		}
		if err != nil {
			return 0, http.StatusBadRequest, err
		}
	}
	var text string
	switch {
	case inQuery && inBody:
		return 0, http.StatusBadRequest, errors.New("level given both in the URL query and in the body")
	case inQuery:
		text = fromQuery
	case inBody:
		text = fromBody
	default:
		return 0, http.StatusBadRequest, errMissingLevel
	}
	l, err := ParseLevel(text)
	if err != nil {
		return 0, http.StatusBadRequest, err
	}
	return l, 0, nil
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// formLevel returns the "level" value of a form or query, if there is one.
func formLevel(form url.Values) (ok bool, text string, err error) {
	switch vs := form["level"]; len(vs) {
	case 0:
		return false, "", nil
	case 1:
		return true, vs[0], nil
	default:
		return false, "", errors.New("level given more than once")
	}
}

// jsonLevel returns the "level" member of a JSON object, if there is one.
// Members are read one by one, so that a level given twice (two members
// whose names match "level", which encoding/json matches ignoring case,
// the last one winning) is refused as the form and the query refuse it.
func jsonLevel(body []byte) (ok bool, text string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	malformed := func(err error) (bool, string, error) {
		return false, "", fmt.Errorf("malformed JSON body: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return malformed(err)
	}
	if d, isDelim := tok.(json.Delim); !isDelim || d != '{' {
		return false, "", errors.New(`JSON body must be an object, such as {"level":"debug"}`)
	}
	var level json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		key, _ := tok.(string) // object keys are strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return malformed(err)
		}
		if !strings.EqualFold(key, "level") {
			continue
		}
		if level != nil {
			return false, "", errors.New("level given more than once")
		}
		level = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed(errors.New("data after the object"))
	}
	if len(level) == 0 || string(level) == "null" {
		return false, "", nil
	}
	if err := json.Unmarshal(level, &text); err != nil {
		return false, "", fmt.Errorf(`level must be a JSON string, such as "debug", not %s`, level)
	}
	return true, text, nil
}
