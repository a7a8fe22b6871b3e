package drain

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of a Strategy.
type Kind uint8

const (
	// KindFlushPending is the zero Kind, so that a zero Strategy is the safe
	// default: deliver what is queued.
	KindFlushPending Kind = iota
	// KindImmediate stops intake and discards what is queued.
	KindImmediate
	// KindGraceful delivers until a timeout, then abandons the rest.
	KindGraceful
)

// String returns "flush-pending", "immediate" or "graceful"; an unknown
// Kind prints as "Kind(n)".
func (k Kind) String() string {
	switch k {
	case KindFlushPending:
		return "flush-pending"
	case KindImmediate:
		return "immediate"
	case KindGraceful:
		return "graceful"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Strategy says how much of what is queued a shutdown delivers. It is a
// small comparable value: Strategy values compare equal with == when they
// have the same Kind and Timeout. The zero Strategy is FlushPending.
type Strategy struct {
	kind    Kind
	timeout time.Duration
}

var (
	// Immediate stops intake, discards what is queued (the owner counts
	// it as dropped) and closes. The seed's Immediate.
	Immediate = Strategy{kind: KindImmediate}
	// FlushPending delivers everything queued unless the caller's context
	// ends first; it sets no deadline of its own, so pass Shutdown a
	// context with one. The seed's Flush_pending, and the zero Strategy.
	FlushPending = Strategy{kind: KindFlushPending}
)

// Graceful delivers until timeout has passed, then abandons the rest (the
// owner counts it). The seed's Graceful of float, with a time.Duration
// instead of float seconds. A timeout <= 0 makes an invalid Strategy that
// Validate, Shutdown and MarshalText refuse.
func Graceful(timeout time.Duration) Strategy {
	return Strategy{kind: KindGraceful, timeout: timeout}
}

// Kind returns the strategy's kind.
func (s Strategy) Kind() Kind { return s.kind }

// Timeout returns the graceful timeout, or 0 for the other kinds.
func (s Strategy) Timeout() time.Duration {
	if s.kind != KindGraceful {
		return 0
	}
	return s.timeout
}

// String returns "immediate", "flush-pending" or "graceful(50ms)", the
// timeout in time.Duration's notation. ParseStrategy reads it back.
func (s Strategy) String() string {
	if s.kind == KindGraceful {
		return "graceful(" + s.timeout.String() + ")"
	}
	return s.kind.String()
}

// Validate reports whether s can drive a shutdown: a Graceful timeout
// must be above 0.
func (s Strategy) Validate() error {
	switch s.kind {
	case KindImmediate, KindFlushPending:
		return nil
	case KindGraceful:
		if s.timeout <= 0 {
			return fmt.Errorf("drain: Graceful timeout must be > 0, got %v", s.timeout)
		}
		return nil
	}
	return fmt.Errorf("drain: unknown strategy kind %v", s.kind)
}

// MarshalText returns String's text. An invalid Strategy is an error, so
// that what is written can always be read back.
func (s Strategy) MarshalText() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// UnmarshalText parses text as ParseStrategy does. On error s is left
// unchanged.
func (s *Strategy) UnmarshalText(text []byte) error {
	v, err := ParseStrategy(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseStrategy reads what String writes: "immediate", "flush-pending" or
// "graceful(<duration>)", and also "graceful:<duration>", which is easier
// to type in flags and environment variables. The duration is in
// time.ParseDuration's notation and must be above 0. Letter case and
// surrounding spaces are ignored. Unknown text is an error that quotes it.
func ParseStrategy(text string) (Strategy, error) {
	t := strings.ToLower(strings.TrimSpace(text))
	switch t {
	case "immediate":
		return Immediate, nil
	case "flush-pending":
		return FlushPending, nil
	}
	var d string
	switch {
	case strings.HasPrefix(t, "graceful(") && strings.HasSuffix(t, ")"):
		d = t[len("graceful(") : len(t)-1]
	case strings.HasPrefix(t, "graceful:"):
		d = t[len("graceful:"):]
	default:
		return Strategy{}, fmt.Errorf("drain: unknown strategy %q (want immediate, flush-pending or graceful(<duration>))", text)
	}
	timeout, err := time.ParseDuration(strings.TrimSpace(d))
	if err != nil {
		return Strategy{}, fmt.Errorf("drain: strategy %q: bad timeout: %w", text, err)
	}
	s := Graceful(timeout)
	if err := s.Validate(); err != nil {
		return Strategy{}, err // it names the timeout
	}
	return s, nil
}

// Context derives the drain's context from parent. For Graceful it is
// parent with the timeout; since it is a child, a deadline parent already
// has that is earlier still wins. For the other kinds it is a cancelable
// child of parent with no deadline of its own. The caller must call the
// CancelFunc. An invalid Graceful (timeout <= 0) yields a context that is
// already done. As with the context package, parent must not be nil.
func (s Strategy) Context(parent context.Context) (context.Context, context.CancelFunc) {
	if s.kind == KindGraceful {
		return context.WithTimeout(parent, s.timeout)
	}
	return context.WithCancel(parent)
}
