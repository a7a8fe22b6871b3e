package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// format is how a logger writes the event: the keys it gives the time,
// the level and the message, how it spells the info level, and how it
// writes a time.Duration.
type format struct {
	timeKey, levelKey, msgKey string
	level                     string
	// took reads the "took" field as the logger writes it, and fails
	// on any other JSON type.
	took func(v any) (time.Duration, error)
	// when reads the time as the logger writes it, and fails on any
	// other form or resolution.
	when func(v any) (time.Time, error)
}

// The times as each logger writes them.

// rfc3339Nanos: RFC 3339 with a fraction of a second (slog, shardlog).
func rfc3339Nanos(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok || !strings.Contains(s, ".") {
		return time.Time{}, fmt.Errorf("%v (%T) is not an RFC 3339 time with a fraction of a second", v, v)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// rfc3339Seconds: RFC 3339 to the second (zerolog's default).
func rfc3339Seconds(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%v (%T) is not a string", v, v)
	}
	return time.Parse(time.RFC3339, s)
}

// epochSecondsFloat: seconds since 1970 as a number with a fraction
// (zap's production encoder config).
func epochSecondsFloat(v any) (time.Time, error) {
	f, err := float(v)
	if err != nil {
		return time.Time{}, err
	}
	if f == math.Trunc(f) {
		return time.Time{}, fmt.Errorf("%v has no fraction of a second", v)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// plausible reports whether t can be a time a logger wrote now: after
// 2020 and not ahead of the clock by a day (zero, 1970, or a garbage
// year are not).
func plausible(t time.Time) bool {
	return t.Year() >= 2020 && t.Before(time.Now().Add(24*time.Hour))
}

// The durations as each logger documents it writes them. v comes from a
// decoder with UseNumber, so a JSON number is a json.Number.

// secondsFloat: a number of seconds (zap's production encoder config).
func secondsFloat(v any) (time.Duration, error) {
	f, err := float(v)
	return time.Duration(math.Round(f * float64(time.Second))), err
}

// millisFloat: a number of milliseconds (zerolog's default).
func millisFloat(v any) (time.Duration, error) {
	f, err := float(v)
	return time.Duration(math.Round(f * float64(time.Millisecond))), err
}

// nanosInt: an integer number of nanoseconds (log/slog's JSON handler).
func nanosInt(v any) (time.Duration, error) {
	n, err := integer(v)
	return time.Duration(n), err
}

// durationString: a string in time.Duration's form, "1.5ms" (shardlog).
func durationString(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("%v (%T) is not a string", v, v)
	}
	return time.ParseDuration(s)
}

func float(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v (%T) is not a number", v, v)
	}
	return n.Float64()
}

func integer(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v (%T) is not a number", v, v)
	}
	return n.Int64() // fails on a fraction or an exponent
}

// duplicateKey reports a member name given twice in the top-level object
// of line (a map keeps only the last of them).
func duplicateKey(line []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", false
		}
		k, _ := t.(string)
		if seen[k] {
			return k, true
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", false
		}
	}
	return "", false
}

// checkEvent reads one line written by a logger of format f and returns
// its bytes field. It fails unless the line is exactly one JSON object
// holding the time, the level (info), the message and the five fields
// with their values, and nothing else.
func checkEvent(f format, line []byte) (int64, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return 0, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, errors.New("more than one JSON value on the line")
	}
	if k, dup := duplicateKey(line); dup {
		return 0, fmt.Errorf("member %q given twice", k)
	}
	if f.when != nil {
		t, err := f.when(obj[f.timeKey])
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f.timeKey, err)
		}
		if !plausible(t) {
			return 0, fmt.Errorf("%s = %v: not a time written now", f.timeKey, t)
		}
	}
	want := []string{f.timeKey, f.levelKey, f.msgKey, "method", "status", "took", "bytes", "cached"}
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			return 0, fmt.Errorf("no %q", k)
		}
	}
	if len(obj) != len(want) {
		return 0, fmt.Errorf("%d members, want %d (%s)", len(obj), len(want), strings.Join(want, ", "))
	}
	if t, ok := obj[f.timeKey].(string); ok && t == "" {
		return 0, fmt.Errorf("empty %q", f.timeKey)
	}
	if obj[f.levelKey] != f.level {
		return 0, fmt.Errorf("%s = %v, want %q", f.levelKey, obj[f.levelKey], f.level)
	}
	if obj[f.msgKey] != eventMessage {
		return 0, fmt.Errorf("%s = %v, want %q", f.msgKey, obj[f.msgKey], eventMessage)
	}
	if obj["method"] != eventMethod {
		return 0, fmt.Errorf("method = %v, want %q", obj["method"], eventMethod)
	}
	if n, err := integer(obj["status"]); err != nil || n != eventStatus {
		return 0, fmt.Errorf("status = %v, want %d (%v)", obj["status"], eventStatus, err)
	}
	if d, err := f.took(obj["took"]); err != nil || d != eventTook {
		return 0, fmt.Errorf("took = %v, want %v (%v)", obj["took"], eventTook, err)
	}
	if obj["cached"] != eventCached {
		return 0, fmt.Errorf("cached = %v, want %v", obj["cached"], eventCached)
	}
	n, err := integer(obj["bytes"])
	if err != nil {
		return 0, fmt.Errorf("bytes: %w", err)
	}
	return n, nil
}
