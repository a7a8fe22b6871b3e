package main

import (
	"bytes"
	"encoding/json"

	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/hist"
)

// progress prints one line per interval while the load runs: elapsed time,
// log calls per second over the interval, queue depth, drops so far, the
// service latency p99 over the interval (the call latency's in the closed
// loop) and, per sink, events written per second over the interval and
// the p50 and p95 of its Write calls.
//
// The write latencies are cumulative since the start: the engine exposes
// them as one cumulative snapshot, and a histogram cannot be subtracted.
// On a terminal the line is rewritten in place; elsewhere each interval
// gets its own line.
//
// One goroutine calls tick; the workload's interval snapshots belong to
// progress, so the final report reads only cumulative ones.
type progress struct {
	out   io.Writer
	tty   bool
	eng   *shardlog.Engine
	load  *workload
	start time.Time

	prevAt      time.Time
	prevSent    uint64
	prevWritten []uint64 // by sink
	width       int      // of the longest line written, for overwriting
}

func newProgress(out io.Writer, tty bool, eng *shardlog.Engine, load *workload, start time.Time) *progress {
	return &progress{out: out, tty: tty, eng: eng, load: load, start: start, prevAt: start}
}

// run ticks every interval until stop is closed, then ends the line.
func (p *progress) run(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			p.tick(now)
		case <-stop:
			if p.tty && p.width > 0 {
				fmt.Fprintln(p.out)
			}
			return
		}
	}
}

// tick prints the line for the interval ending at now.
func (p *progress) tick(now time.Time) {
	st := p.eng.Stats()
	sent := p.load.sent()
	dt := now.Sub(p.prevAt).Seconds()
	var dropped uint64
	for _, s := range st.Sinks {
		dropped += s.Dropped.Total()
	}
	lat, latName := p.load.service, "service"
	if lat == nil {
		lat, latName = p.load.call, "call"
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%6.1fs  sent %s  depth %d  dropped %d  %s p99 %s",
		now.Sub(p.start).Seconds(), perSecond(float64(sent-p.prevSent)/dt),
		p.eng.Depth(), dropped, latName, fmtNs(lat.Snapshot().P99()))
	if p.prevWritten == nil {
		p.prevWritten = make([]uint64, len(st.Sinks))
	}
	for i, s := range st.Sinks {
		fmt.Fprintf(&b, " | %s written %s write p50 %s p95 %s",
			s.Name, perSecond(float64(s.Written-p.prevWritten[i])/dt),
			fmtNs(s.WriteLatency.P50()), fmtNs(s.WriteLatency.P95()))
		p.prevWritten[i] = s.Written
	}
	p.prevAt, p.prevSent = now, sent

	line := b.String()
	if p.tty {
		pad := max(0, p.width-len(line))
		p.width = max(p.width, len(line))
		fmt.Fprintf(p.out, "\r%s%s", line, strings.Repeat(" ", pad))
	} else {
		fmt.Fprintln(p.out, line)
	}
}

// result is what a run did: the final report.
type result struct {
	Config reportConfig `json:"config"`
	// Scheduled is the number of events on the open loop's schedule (0 in
	// the closed loop); Attempted the log calls made; Unsent the scheduled
	// events not logged because the goroutines were still behind schedule
	// at the end, or the run was interrupted.
	Scheduled uint64 `json:"scheduled"`
	Attempted uint64 `json:"attempted"`
	Unsent    uint64 `json:"unsent"`
	// Generate is how long the load was generated; Wall adds the drain
	// (Shutdown).
	Generate time.Duration `json:"generate_ns"`
	Wall     time.Duration `json:"wall_ns"`

	Sinks        []sinkResult `json:"sinks"`
	EngineErrors uint64       `json:"engine_errors"`
	// Budget is the memory budget at the end of the run (its peak says
	// how much of a sink's stalls it held); nil when off.
	Budget *shardlog.BudgetSnapshot `json:"budget,omitempty"`
	// Evicted counts events a full ring evicted for newer ones; Spilled,
	// those of them (and of calls a full ring could not take) kept in
	// memory and delivered rather than lost.
	Evicted uint64 `json:"evicted"`
	Spilled uint64 `json:"spilled"`

	// CallLatency is the duration of the Log calls; ServiceLatency the
	// time from each event's due time to the end of its call (nil in the
	// closed loop).
	CallLatency    *hist.Snapshot `json:"call_latency_ns"`
	ServiceLatency *hist.Snapshot `json:"service_latency_ns,omitempty"`

	ShutdownErr string `json:"shutdown_error,omitempty"`
	// Accounting is "exact" or "mismatch"; Mismatches says what failed.
	Accounting string   `json:"accounting"`
	Mismatches []string `json:"mismatches,omitempty"`
	// Interrupted says the run was cut short (SIGINT or SIGTERM).
	Interrupted bool `json:"interrupted,omitempty"`
	// Losses says what went wrong for the events, beside the accounting:
	// a sink that failed events or wrote none, engine errors. Exact
	// accounting of a run that delivered nothing is still a failed run.
	Losses []string `json:"losses,omitempty"`
}

// ok reports whether the run succeeded: complete, accounted for exactly,
// shut down, and with nothing failed.
func (r *result) ok() bool {
	return r.ShutdownErr == "" && len(r.Mismatches) == 0 && len(r.Losses) == 0 && !r.Interrupted
}

// losses lists what the run lost beyond what its policy sheds by design:
// events a sink failed, a sink that wrote nothing of what it accepted,
// and engine errors. (Drops by policy, such as queue-full under
// DropOldest, are the configuration's choice and are reported, not
// failed.)
func (r *result) losses() []string {
	var out []string
	for _, s := range r.Sinks {
		if s.Failed > 0 {
			out = append(out, fmt.Sprintf("sink %s: %d events failed", s.Name, s.Failed))
		}
		if s.Accepted > 0 && s.Written == 0 {
			out = append(out, fmt.Sprintf("sink %s: wrote none of %d events", s.Name, s.Accepted))
		}
	}
	if r.EngineErrors > 0 {
		out = append(out, fmt.Sprintf("%d engine errors", r.EngineErrors))
	}
	return out
}

// reportConfig is the configuration a run used.
type reportConfig struct {
	Goroutines    int           `json:"goroutines"`
	Rate          int           `json:"rate"` // events/s; 0: closed loop
	Duration      time.Duration `json:"duration_ns"`
	Fields        int           `json:"fields"`
	Queue         string        `json:"queue"`
	Policy        string        `json:"policy"`
	Shards        int           `json:"shards"`
	Capacity      int           `json:"capacity"`
	Sink          string        `json:"sink"`
	LogPath       string        `json:"log_path,omitempty"`
	ConsoleFormat string        `json:"console_format,omitempty"`
	Coalesce      time.Duration `json:"write_coalescing_ns,omitempty"`
}

// sinkResult is one sink's accounting and its delivered throughput.
type sinkResult struct {
	shardlog.SinkStats
	// Delivered is Written per second of wall time; BytesPerSecond, the
	// encoded bytes handed to Write per second (retried and failed writes
	// included: the engine counts bytes per call, not per event written).
	Delivered      float64 `json:"delivered_per_s"`
	BytesPerSecond float64 `json:"bytes_per_s"`
}

// newResult assembles the report and checks the accounting. discarded is
// the discard sink's own count of events, or -1 without one.
func newResult(c config, eng *shardlog.Engine, w *workload, rep shardlog.Report, shutdownErr error, generate, wall time.Duration, discarded int64) *result {
	r := &result{
		Config: reportConfig{
			Goroutines: c.goroutines,
			Rate:       c.rate,
			Duration:   c.duration,
			Fields:     c.fields,
			Queue:      c.queue.String(),
			Policy:     c.policy.String(),
			Shards:     eng.Shards(),
			Capacity:   c.capacityOrDefault(),
			Sink:       c.sink,
			Coalesce:   c.coalesce,
		},
		Scheduled:    w.scheduled(),
		Attempted:    w.sent(),
		Generate:     generate,
		Wall:         wall,
		EngineErrors: rep.Errors,
		Budget:       eng.Metrics(false).Engine.Budget,
		CallLatency:  w.call.Cumulative(),
	}
	if c.usesFile() {
		r.Config.LogPath = c.logPath()
	}
	if c.usesConsole() {
		r.Config.ConsoleFormat = c.consoleFormat
	}
	if w.service != nil {
		r.ServiceLatency = w.service.Cumulative()
	}
	for _, sh := range eng.Metrics(false).Engine.Shards {
		r.Evicted += sh.Evicted
		r.Spilled += sh.Spilled
	}
	if r.Scheduled > r.Attempted {
		r.Unsent = r.Scheduled - r.Attempted
	}
	if shutdownErr != nil {
		r.ShutdownErr = shutdownErr.Error()
	}
	for _, s := range rep.Sinks {
		r.Sinks = append(r.Sinks, sinkResult{
			SinkStats:      s,
			Delivered:      float64(s.Written) / wall.Seconds(),
			BytesPerSecond: float64(s.Bytes) / wall.Seconds(),
		})
	}
	r.Mismatches = r.check(shutdownErr == nil, discarded)
	r.Accounting = "exact"
	if len(r.Mismatches) > 0 {
		r.Accounting = "mismatch"
	}
	r.Losses = r.losses()
	return r
}

// check verifies, for every sink, that each log call was accepted once
// (every sink takes every level here), that every accepted event is
// written, dropped, failed or pending, that nothing is pending after a
// complete shutdown, and that the discard sink saw what the engine counts
// as written. It returns a description of each failure.
func (r *result) check(shutdownComplete bool, discarded int64) []string {
	var bad []string
	for _, s := range r.Sinks {
		done := s.Written + s.Diverted + s.Dropped.Total() + s.Failed
		if s.Accepted != done+s.Pending {
			bad = append(bad, fmt.Sprintf("sink %s: accepted %d != written %d + dropped %d + failed %d + pending %d (= %d)",
				s.Name, s.Accepted, s.Written, s.Dropped.Total(), s.Failed, s.Pending, done+s.Pending))
		}
		if s.Accepted != r.Attempted {
			bad = append(bad, fmt.Sprintf("sink %s: accepted %d != attempted %d", s.Name, s.Accepted, r.Attempted))
		}
		if shutdownComplete && s.Pending != 0 {
			bad = append(bad, fmt.Sprintf("sink %s: %d events pending after a complete shutdown", s.Name, s.Pending))
		}
		if s.Name == "discard" && discarded >= 0 && uint64(discarded) != s.Written {
			bad = append(bad, fmt.Sprintf("sink discard: received %d events, engine counts %d written", discarded, s.Written))
		}
	}
	return bad
}

// writeJSON writes the report as one JSON object; latencies and durations
// are in nanoseconds.
func (r *result) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeText writes the report for people.
func (r *result) writeText(w io.Writer) error {
	c := r.Config
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	mode := fmt.Sprintf("open loop, %d events/s target", c.Rate)
	if c.Rate == 0 {
		mode = "closed loop (as fast as possible)"
	}
	fmt.Fprintf(tw, "loadgen: %s, %d goroutines, %v, %d fields per event\n", mode, c.Goroutines, c.Duration, c.Fields)
	fmt.Fprintf(tw, "config: queue %s, policy %s, %d shards x %d slots, sink %s", c.Queue, c.Policy, c.Shards, c.Capacity, c.Sink)
	if c.LogPath != "" {
		fmt.Fprintf(tw, " (%s)", c.LogPath)
	}
	if c.ConsoleFormat != "" {
		fmt.Fprintf(tw, " (console %s)", c.ConsoleFormat)
	}
	if c.Coalesce > 0 {
		fmt.Fprintf(tw, ", write coalescing %v", c.Coalesce)
	}
	fmt.Fprintln(tw)

	// Rows of three cells, each ended by a tab, so that tabwriter aligns
	// every row of a section.
	fmt.Fprintln(tw, "\nevents")
	if c.Rate > 0 {
		fmt.Fprintf(tw, "  scheduled\t%d\t\n", r.Scheduled)
	}
	fmt.Fprintf(tw, "  attempted\t%d\t%s over %s\n", r.Attempted, perSecond(float64(r.Attempted)/r.Generate.Seconds()), fmtDuration(r.Generate))
	if c.Rate > 0 {
		fmt.Fprintf(tw, "  unsent\t%d\t%s\n", r.Unsent, unsentNote(r.Unsent))
	}
	fmt.Fprintf(tw, "  wall time\t%s\tdrain %s\n", fmtDuration(r.Wall), fmtDuration(r.Wall-r.Generate))

	for _, s := range r.Sinks {
		fmt.Fprintf(tw, "\nsink %s\n", s.Name)
		fmt.Fprintf(tw, "  accepted\t%d\t\n", s.Accepted)
		fmt.Fprintf(tw, "  written\t%d\tdelivered %s; %s handed to Write (retries and failed writes included)\n", s.Written, perSecond(s.Delivered), fmtBytesPerSecond(s.BytesPerSecond))
		fmt.Fprintf(tw, "  dropped\t%d\t%s\n", s.Dropped.Total(), dropReasons(s.Dropped))
		fmt.Fprintf(tw, "  failed\t%d\t\n", s.Failed)
		fmt.Fprintf(tw, "  pending\t%d\t\n", s.Pending)
		l := s.WriteLatency
		fmt.Fprintf(tw, "  writes\t%d\tlatency p50 %s, p99 %s, max %s; %d errors\n",
			s.Writes, fmtNs(l.P50()), fmtNs(l.P99()), fmtNs(l.Max()), s.Errors)
	}

	fmt.Fprintln(tw, "\ncaller latency\tp50\tp99\tp99.9\tmax\tcount\t")
	latencyRow(tw, "call", r.CallLatency)
	if r.ServiceLatency != nil {
		latencyRow(tw, "service", r.ServiceLatency)
	}
	fmt.Fprintln(tw, "  (call: the Log call itself; service: from the event's due time on the schedule to the end of its call)")
	if err := tw.Flush(); err != nil {
		return err
	}

	// tabwriter pads the last cells; trim what it left at line ends.
	var b strings.Builder
	for line := range strings.Lines(buf.String()) {
		b.WriteString(strings.TrimRight(line, " \n"))
		b.WriteByte('\n')
	}
	if bu := r.Budget; bu != nil {
		fmt.Fprintf(&b, "\nmemory budget: peak %.1f MiB of %.0f MiB (queued events held while the sink was behind)\n",
			float64(bu.Peak)/(1<<20), float64(bu.Limit)/(1<<20))
	}
	if r.Evicted > 0 || r.Spilled > 0 {
		fmt.Fprintf(&b, "full rings: %d events evicted; the spill kept %d (evicted, or calls a full ring could not take) in memory\n", r.Evicted, r.Spilled)
	}
	fmt.Fprintf(&b, "\nengine errors: %d\n", r.EngineErrors)
	if r.ShutdownErr != "" {
		fmt.Fprintf(&b, "shutdown: %s\n", r.ShutdownErr)
	}
	if len(r.Mismatches) == 0 {
		b.WriteString("accounting: exact\n")
	} else {
		b.WriteString("accounting: MISMATCH\n")
		for _, m := range r.Mismatches {
			fmt.Fprintf(&b, "  %s\n", m)
		}
	}
	if r.Interrupted {
		b.WriteString("run: INTERRUPTED before its end (the figures cover what ran)\n")
	}
	if len(r.Losses) > 0 {
		b.WriteString("run: FAILED\n")
		for _, m := range r.Losses {
			fmt.Fprintf(&b, "  %s\n", m)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func latencyRow(w io.Writer, name string, s *hist.Snapshot) {
	fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%d\t\n", name, fmtNs(s.P50()), fmtNs(s.P99()), fmtNs(s.P999()), fmtNs(s.Max()), s.Count())
}

func unsentNote(n uint64) string {
	if n == 0 {
		return ""
	}
	return "(behind schedule at the end, or interrupted)"
}

// dropReasons lists the non-zero drop counts by reason.
func dropReasons(d shardlog.Drops) string {
	var parts []string
	for _, r := range shardlog.Reasons() {
		if n := d.Count(r); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r, n))
		}
	}
	return strings.Join(parts, ", ")
}

// fmtNs writes a nanosecond count with three significant digits in the
// largest unit that keeps it >= 1: 830ns, 1.25µs, 48.2ms, 2.00s.
func fmtNs(ns int64) string {
	if ns < 1000 {
		return fmt.Sprintf("%dns", ns)
	}
	v := float64(ns)
	for _, u := range []struct {
		size float64
		name string
	}{{1e3, "µs"}, {1e6, "ms"}} {
		// 999.6µs rounds to 1000µs: write it as 1.00ms.
		if v/u.size < 999.5 {
			return sig3(v/u.size) + u.name
		}
	}
	return sig3(v/1e9) + "s"
}

func fmtDuration(d time.Duration) string { return fmtNs(int64(d)) }

// sig3 writes v, in [1, 999.5), with three significant digits.
func sig3(v float64) string {
	switch {
	case v < 9.995:
		return fmt.Sprintf("%.2f", v)
	case v < 99.95:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// perSecond writes an event rate: 950/s, 12.3k/s, 1.20M/s.
func perSecond(v float64) string {
	switch {
	case v < 999.5:
		return fmt.Sprintf("%.0f/s", v)
	case v < 999.5e3:
		return sig3(v/1e3) + "k/s"
	}
	return fmt.Sprintf("%.2fM/s", v/1e6)
}

func fmtBytesPerSecond(v float64) string {
	const mib = 1 << 20
	return fmt.Sprintf("%.1f MiB/s", v/mib)
}
