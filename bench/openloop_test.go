package bench

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/shardlog/shardlog/hist"
)

// openLoopGoroutines is how many callers share the open-loop schedule.
const openLoopGoroutines = 8

// openLoopRates are the arrival rates, in events per second, shared by
// all callers.
var openLoopRates = []int{100_000, 400_000}

// BenchmarkOpenLoop measures what a log call costs a service at a fixed
// arrival rate, for every logger, the lossy ones included. 8 goroutines
// share the rate on a fixed schedule: goroutine g's k-th event is due at
// start + (g/8 + k) × interval, whether or not its previous call has
// returned (open loop: a slow call does not delay the next one's due
// time, it makes it late). A caller ahead of schedule sleeps when a
// millisecond or more ahead (on Linux a shorter sleep lasts about 1ms)
// and yields (runtime.Gosched) otherwise, so that the pacing leaves the
// loggers' background goroutines their share of the CPU.
//
// Reported, from an HDR histogram per goroutine: call-*-ns, the call's
// own duration (p50, p99, p99.9, max), and service-*-ns, the time from
// when the event was due to when its call returned, which corrects for
// coordinated omission (a stalled call makes the events due behind it
// late, and their lateness is counted). delivered/attempted is counted at
// the destination after the logger delivered; unaccounted/attempted is
// the share neither delivered nor reported lost (0 where the logger's
// report is exact); offered/s is the rate the callers kept, below the
// rate asked for when they fell behind; events/write is the delivered
// events per Write call to the destination (a system call each on a real
// file). A lossless logger fails the benchmark if it lost an event.
//
// logger=none runs first at each rate: the harness's floor (noLogger).
//
// ns/op means nothing here: it is the schedule's interval (wall time over
// events), set by the rate, not by the logger.
//
// What it hides: the rate is the same for every logger, whatever its
// capacity, so a rate near one logger's capacity is far below another's
// (BenchmarkCapacity gives the capacities); and the destination costs
// nothing, as in the other families.
func BenchmarkOpenLoop(b *testing.B) {
	for _, rate := range openLoopRates {
		for _, p := range append([]peer{noLogger}, peers...) {
			b.Run(fmt.Sprintf("rate=%dk/logger=%s", rate/1000, p.name), func(b *testing.B) {
				openLoop(b, p, float64(rate))
			})
		}
	}
}

// noLogger is the open loop's floor (logger=none): a call that does
// nothing. Its figures are the harness's own, the two clock reads around
// the call, the pacer's lateness and the machine's interruptions, which
// every logger's figures include: on the project's 2-core VM at -cpu 2
// an empty call's p99.9 is about 1.4µs and its service p50 about 1.35µs
// (docs/bench/peers.md). It reports latencies only.
var noLogger = peer{name: "none", build: func(out *lineCounter) (*subject, error) {
	return &subject{out: out, log: logNothing, deliver: func() error { return nil },
		lost: func() int64 { return 0 }, close: func() {}}, nil
}}

// logNothing is noLogger's call; not inlined, so the floor keeps the cost
// of calling a function value, as every logger's call has.
//
//go:noinline
func logNothing(int) {}

func openLoop(b *testing.B, p peer, rate float64) {
	s := newSubject(b, p, false)
	call, err := hist.NewLatencySharded(openLoopGoroutines)
	if err != nil {
		b.Fatal(err)
	}
	service, err := hist.NewLatencySharded(openLoopGoroutines)
	if err != nil {
		b.Fatal(err)
	}
	interval := time.Duration(float64(time.Second) * openLoopGoroutines / rate) // per goroutine
	per := (b.N + openLoopGoroutines - 1) / openLoopGoroutines
	// The callers are started first and wait for the schedule, so that
	// starting them makes no event late.
	var start time.Time
	begin := make(chan struct{})
	var wg sync.WaitGroup
	for g := range openLoopGoroutines {
		wg.Go(func() {
			callRec, serviceRec := call.Recorder(g), service.Recorder(g)
			<-begin
			offset := time.Duration(g) * interval / openLoopGoroutines
			for k := range per {
				due := start.Add(offset + time.Duration(k)*interval)
				waitUntil(due)
				t := time.Now()
				s.log(g*per + k)
				end := time.Now()
				callRec.Record(int64(end.Sub(t)))
				serviceRec.Record(int64(end.Sub(due)))
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	start = time.Now()
	close(begin)
	wg.Wait()
	elapsed := time.Since(start)
	if err := s.deliver(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	attempted := int64(per * openLoopGoroutines)
	if p.lossless {
		requireAllDelivered(b, s, attempted)
	}
	reportLatency(b, "call", call.Cumulative())
	reportLatency(b, "service", service.Cumulative())
	if p.name == noLogger.name {
		return // nothing is delivered: the floor has latencies only
	}
	reportDelivery(b, s, attempted)
	reportWrites(b, s)
	b.ReportMetric(float64(attempted)/elapsed.Seconds(), "offered/s")
}

// waitUntil returns at due or soon after. It sleeps while a millisecond
// or more ahead, and yields otherwise: a sleep under a millisecond lasts
// about one on Linux, and spinning without yielding would take the CPU
// from the loggers' background goroutines.
func waitUntil(due time.Time) {
	for {
		wait := time.Until(due)
		if wait <= 0 {
			return
		}
		if wait >= time.Millisecond {
			time.Sleep(wait)
		} else {
			runtime.Gosched()
		}
	}
}

// reportLatency reports s's p50, p99, p99.9 and max as <name>-p50-ns and
// so on.
func reportLatency(b *testing.B, name string, s *hist.Snapshot) {
	b.ReportMetric(float64(s.P50()), name+"-p50-ns")
	b.ReportMetric(float64(s.P99()), name+"-p99-ns")
	b.ReportMetric(float64(s.P999()), name+"-p99.9-ns")
	b.ReportMetric(float64(s.Max()), name+"-max-ns")
}
