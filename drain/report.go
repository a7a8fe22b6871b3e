package drain

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Account is one unit's accounting (for the engine: one sink), as read by
// the WithAccounting function. Counters are cumulative since the unit
// started; Shutdown reports what changed during the drain.
type Account struct {
	Name      string
	Delivered uint64            // cumulative
	Failed    uint64            // cumulative
	Dropped   map[string]uint64 // cumulative, by reason name
	// Withheld counts what the unit chose not to deliver (for the
	// engine: events a filter or a sink's level excluded), cumulative, by
	// reason name: reported, but not lost.
	Withheld map[string]uint64
	Pending  uint64 // now
	Stuck    bool   // a call into the unit had not returned
}

// Report is what a Shutdown did. Shutdown never changes a Report after
// returning it, and every caller gets its own copy, so a Report may be
// kept, read and modified freely.
type Report struct {
	Strategy Strategy
	// Started is when the drain began, on the WithClock clock.
	Started time.Time
	// Duration is from Started until Shutdown returned.
	Duration time.Duration
	// Deadline is the drain context's deadline (the Graceful timeout or
	// the caller's, whichever is earlier); zero without one.
	Deadline time.Time
	// DeadlineHit is set when the drain's context had ended by the time
	// the stages were done and straggling handlers had been waited for:
	// something may have been cut short. A caller's cancellation counts
	// too; the error then wraps context.Canceled instead of
	// context.DeadlineExceeded.
	DeadlineHit bool
	// Handlers are the registered handlers, in registration order.
	Handlers []Step
	// Stages are the owner's stages, in order.
	Stages []Step
	// Accounts are the units of the end read, in its order, with what
	// they did during the drain. Empty without WithAccounting, and when
	// a read failed (AccountingFailed).
	Accounts []AccountReport
	// AccountingFailed is set when the accounting read at the start or
	// the end failed (its function panicked): what the drain lost is then
	// unknown, and Clean says false.
	AccountingFailed bool
}

// Step is what one handler or stage did.
type Step struct {
	Name string
	// Duration is until it returned, or until it was abandoned.
	Duration time.Duration
	// Err is what it returned, or the recovered panic.
	Err error
	// Panicked is set when it panicked (or called runtime.Goexit); Err
	// then says "panic: ...".
	Panicked bool
	// TimedOut is set when it was still running when its context ended;
	// it may still have returned during the overrun.
	TimedOut bool
	// Abandoned is set when it was still running when Shutdown returned:
	// its goroutine is left behind and ends whenever the call returns.
	Abandoned bool
	// Skipped is set for a stage that was never started because the
	// overrun had run out by its turn (typically: a stage before it was
	// abandoned).
	Skipped bool
}

// AccountReport is one unit's accounting over the drain.
type AccountReport struct {
	Name      string            `json:"name"`
	Delivered uint64            `json:"delivered"`          // during the drain (end - start)
	Failed    uint64            `json:"failed"`             // during the drain
	Dropped   map[string]uint64 `json:"dropped,omitempty"`  // during the drain, by reason; zero reasons omitted
	Withheld  map[string]uint64 `json:"withheld,omitempty"` // during the drain, by reason: not delivered by choice, not lost
	Pending   uint64            `json:"pending"`            // at the end: left undelivered
	Stuck     bool              `json:"stuck"`              // at the end
}

// Lost is what the drain did not deliver: the sum of Dropped, Failed and
// Pending over the accounts (Withheld is not lost).
func (r Report) Lost() uint64 {
	var n uint64
	for _, a := range r.Accounts {
		n += a.lost()
	}
	return n
}

func (a AccountReport) lost() uint64 { return a.dropped() + a.Failed + a.Pending }

func (a AccountReport) dropped() uint64 { return sum(a.Dropped) }

// Clean reports whether the drain did everything: no step failed,
// panicked, timed out, was abandoned or skipped, the deadline was not hit,
// no unit is stuck and nothing was lost.
func (r Report) Clean() bool {
	if r.DeadlineHit || r.AccountingFailed || r.Lost() > 0 {
		return false
	}
	for _, s := range slices.Concat(r.Handlers, r.Stages) {
		if s.Err != nil || s.Panicked || s.TimedOut || s.Abandoned || s.Skipped {
			return false
		}
	}
	for _, a := range r.Accounts {
		if a.Stuck {
			return false
		}
	}
	return true
}

// String is a multi-line summary for logs, in a stable order: the header
// with the deadline, then handlers and stages in their order (each one
// still running is named "still running"), then the accounts with their
// drop reasons sorted, then the total lost.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "drain %s: started %s, took %v\n", r.Strategy, r.Started.Format(time.RFC3339Nano), r.Duration)
	switch {
	case r.Deadline.IsZero() && r.DeadlineHit:
		b.WriteString("deadline: none, context ended\n")
	case r.Deadline.IsZero():
		b.WriteString("deadline: none\n")
	case r.DeadlineHit:
		fmt.Fprintf(&b, "deadline: %s, hit\n", r.Deadline.Format(time.RFC3339Nano))
	default:
		fmt.Fprintf(&b, "deadline: %s, met\n", r.Deadline.Format(time.RFC3339Nano))
	}
	writeSteps(&b, "handlers", r.Handlers)
	writeSteps(&b, "stages", r.Stages)
	switch {
	case r.AccountingFailed:
		b.WriteString("accounts: unknown, the accounting read failed\n")
	case len(r.Accounts) == 0:
		b.WriteString("accounts: none\n")
	default:
		b.WriteString("accounts:\n")
		for _, a := range r.Accounts {
			fmt.Fprintf(&b, "  %q: delivered %d, failed %d, dropped %d", a.Name, a.Delivered, a.Failed, a.dropped())
			writeReasons(&b, a.Dropped)
			if n := sum(a.Withheld); n > 0 {
				fmt.Fprintf(&b, ", withheld %d", n)
				writeReasons(&b, a.Withheld)
			}
			fmt.Fprintf(&b, ", pending %d", a.Pending)
			if a.Stuck {
				b.WriteString(", stuck")
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "lost: %d", r.Lost())
	return b.String()
}

// writeReasons writes " (filtered 2, below-sink-level 1)": the reasons
// of m in order, or nothing when m has none.
func writeReasons(b *strings.Builder, m map[string]uint64) {
	if len(m) == 0 {
		return
	}
	b.WriteString(" (")
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%s %d", k, m[k])
	}
	b.WriteString(")")
}

// sum is the total of m's counts.
func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

func writeSteps(b *strings.Builder, title string, steps []Step) {
	if len(steps) == 0 {
		fmt.Fprintf(b, "%s: none\n", title)
		return
	}
	fmt.Fprintf(b, "%s:\n", title)
	for _, s := range steps {
		fmt.Fprintf(b, "  %q: %s\n", s.Name, s.status())
	}
}

// status is one step's outcome in words.
func (s Step) status() string {
	var st string
	switch {
	case s.Skipped:
		return "skipped, not started"
	case s.Abandoned:
		st = fmt.Sprintf("still running, abandoned after %v", s.Duration)
	case s.Panicked:
		st = fmt.Sprintf("panicked after %v: %v", s.Duration, s.Err)
	case s.Err != nil:
		st = fmt.Sprintf("failed after %v: %v", s.Duration, s.Err)
	default:
		st = fmt.Sprintf("ok in %v", s.Duration)
	}
	if s.TimedOut {
		if s.Abandoned {
			st += " (timed out)"
		} else {
			st += " (timed out, returned in the overrun)"
		}
	}
	return st
}

type stepJSON struct {
	Name       string `json:"name"`
	Duration   string `json:"duration"`
	DurationNS int64  `json:"duration_ns"`
	Err        string `json:"error,omitempty"`
	Panicked   bool   `json:"panicked"`
	TimedOut   bool   `json:"timed_out"`
	Abandoned  bool   `json:"abandoned"`
	Skipped    bool   `json:"skipped"`
}

// MarshalJSON writes the step with its error as a string ("error",
// omitted when nil) and its duration both as a Go duration string
// ("duration") and in nanoseconds ("duration_ns").
func (s Step) MarshalJSON() ([]byte, error) {
	j := stepJSON{
		Name:       s.Name,
		Duration:   s.Duration.String(),
		DurationNS: int64(s.Duration),
		Panicked:   s.Panicked,
		TimedOut:   s.TimedOut,
		Abandoned:  s.Abandoned,
		Skipped:    s.Skipped,
	}
	if s.Err != nil {
		j.Err = s.Err.Error()
	}
	return json.Marshal(j)
}

type reportJSON struct {
	Strategy    Strategy        `json:"strategy"`
	Started     time.Time       `json:"started"`
	Duration    string          `json:"duration"`
	DurationNS  int64           `json:"duration_ns"`
	Deadline    time.Time       `json:"deadline,omitzero"`
	DeadlineHit bool            `json:"deadline_hit"`
	Handlers    []Step          `json:"handlers"`
	Stages      []Step          `json:"stages"`
	Accounts    []AccountReport `json:"accounts"`
	// AccountingFailed is omitted when false.
	AccountingFailed bool   `json:"accounting_failed,omitempty"`
	Lost             uint64 `json:"lost"`
	Clean            bool   `json:"clean"`
}

// MarshalJSON writes the report as one object: "strategy" as its text,
// "started" and "deadline" (omitted when zero) in RFC 3339, "duration" as
// a Go duration string and "duration_ns" in nanoseconds, "deadline_hit",
// "handlers" and "stages" (see Step.MarshalJSON), "accounts" (empty lists
// are written as [], not null), and the derived "lost" and "clean".
func (r Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(reportJSON{
		Strategy:         r.Strategy,
		Started:          r.Started,
		Duration:         r.Duration.String(),
		DurationNS:       int64(r.Duration),
		Deadline:         r.Deadline,
		DeadlineHit:      r.DeadlineHit,
		Handlers:         nonNil(r.Handlers),
		Stages:           nonNil(r.Stages),
		Accounts:         nonNil(r.Accounts),
		AccountingFailed: r.AccountingFailed,
		Lost:             r.Lost(),
		Clean:            r.Clean(),
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// clone is a deep copy, so that each Shutdown caller owns its Report.
func (r Report) clone() Report {
	r.Handlers = slices.Clone(r.Handlers)
	r.Stages = slices.Clone(r.Stages)
	r.Accounts = slices.Clone(r.Accounts)
	for i := range r.Accounts {
		r.Accounts[i].Dropped = maps.Clone(r.Accounts[i].Dropped)
		r.Accounts[i].Withheld = maps.Clone(r.Accounts[i].Withheld)
	}
	return r
}

// deltas is what each unit of end did since start. A unit missing from
// start counts from zero; a counter that went down (a unit that was
// replaced) counts as zero rather than wrapping around.
func deltas(start, end []Account) []AccountReport {
	if end == nil {
		return nil
	}
	before := make(map[string]Account, len(start))
	for _, a := range start {
		before[a.Name] = a
	}
	out := make([]AccountReport, 0, len(end))
	for _, a := range end {
		b := before[a.Name]
		ar := AccountReport{
			Name:      a.Name,
			Delivered: sub(a.Delivered, b.Delivered),
			Failed:    sub(a.Failed, b.Failed),
			Pending:   a.Pending,
			Stuck:     a.Stuck,
		}
		ar.Dropped = deltaMap(a.Dropped, b.Dropped)
		ar.Withheld = deltaMap(a.Withheld, b.Withheld)
		out = append(out, ar)
	}
	return out
}

// deltaMap is end - start per reason, without the reasons that did not
// grow; nil when none did.
func deltaMap(end, start map[string]uint64) map[string]uint64 {
	var out map[string]uint64
	for reason, n := range end {
		if d := sub(n, start[reason]); d > 0 {
			if out == nil {
				out = make(map[string]uint64)
			}
			out[reason] = d
		}
	}
	return out
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
