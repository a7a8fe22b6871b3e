package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/hist"
)

// The values of the event fields. They are fixed tables indexed by a hash
// of the event's number, so building an event costs a few loads and the
// measurement is of the engine, not of formatting.
var (
	methods     = [...]string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"}
	statuses    = [...]int{200, 200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 404, 409, 500, 503}
	paths       = [...]string{"/", "/healthz", "/api/v1/users", "/api/v1/users/{id}", "/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/orders/{id}/items", "/api/v1/cart", "/api/v1/cart/checkout", "/api/v1/search", "/api/v1/products", "/api/v1/products/{id}", "/api/v1/sessions", "/api/v1/payments", "/static/app.js", "/static/app.css"}
	remoteAddrs = [...]string{"10.0.0.12", "10.0.0.37", "10.0.1.5", "10.0.2.201", "172.16.4.9", "172.16.9.77", "192.168.10.3", "192.168.10.44"}
	userAgents  = [...]string{"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0", "curl/8.8.0", "Go-http-client/2.0", "okhttp/4.12.0", "python-requests/2.32.3", "kube-probe/1.30"}
	traceIDs    = makeTraceIDs(256)
)

// fieldMakers make an event's fields, in order, from the hash h of its
// number; -fields n uses the first n.
var fieldMakers = [...]func(h uint64) shardlog.Field{
	func(h uint64) shardlog.Field { return shardlog.String("method", methods[h%uint64(len(methods))]) },
	func(h uint64) shardlog.Field { return shardlog.String("path", paths[(h>>4)%uint64(len(paths))]) },
	func(h uint64) shardlog.Field { return shardlog.Int("status", statuses[(h>>8)%uint64(len(statuses))]) },
	func(h uint64) shardlog.Field { return shardlog.Float64("latency_ms", float64((h>>12)%50000)/100) },
	func(h uint64) shardlog.Field { return shardlog.Int64("user_id", int64(100000+(h>>28)%900000)) },
	func(h uint64) shardlog.Field { return shardlog.Int("bytes", int((h>>20)%65536)) },
	func(h uint64) shardlog.Field {
		return shardlog.String("trace_id", traceIDs[(h>>48)%uint64(len(traceIDs))])
	},
	func(h uint64) shardlog.Field {
		return shardlog.String("remote_addr", remoteAddrs[(h>>56)%uint64(len(remoteAddrs))])
	},
	func(h uint64) shardlog.Field {
		return shardlog.String("user_agent", userAgents[(h>>59)%uint64(len(userAgents))])
	},
	func(h uint64) shardlog.Field { return shardlog.Bool("cache_hit", h>>63 == 1) },
}

func makeTraceIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x%016x", mix(uint64(2*i)), mix(uint64(2*i+1)))
	}
	return ids
}

// mix is the splitmix64 finalizer: consecutive event numbers get unrelated
// field values.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// levelOf gives the level and message of a goroutine's n-th event
// (n from 1): every 10000th is an error, every other 1000th a warning.
func levelOf(n uint64) (shardlog.Level, string) {
	switch {
	case n%10000 == 0:
		return shardlog.LevelError, "request failed"
	case n%1000 == 0:
		return shardlog.LevelWarn, "slow request"
	}
	return shardlog.LevelInfo, "request handled"
}

// Timing of the open loop.
const (
	// spinBelow: a goroutine less than this ahead of schedule yields the
	// processor in a loop (runtime.Gosched) instead of sleeping, because a
	// timer sleep overshoots by about this much.
	spinBelow = 50 * time.Microsecond
	// lateCutoff: a goroutine still behind schedule this long after the
	// end of the run stops; the events it had left are reported as unsent.
	lateCutoff = time.Millisecond
)

// cacheLine keeps the counters of different goroutines on different cache
// lines (pairs of 64-byte lines, for the adjacent-line prefetcher).
const cacheLine = 128

// worker is one generating goroutine's shared state.
type worker struct {
	// sent is the number of log calls made; stored by the goroutine after
	// each call, loaded by the progress display.
	sent      atomic.Uint64
	scheduled uint64 // events on the schedule; fixed before the run
	_         [cacheLine - 16]byte
}

// workload generates the load. Each goroutine logs on a fixed schedule
// (open loop): its k-th event is due at start + offset + k*interval, and
// when it falls behind it logs the events that are due at once, one after
// the other, skipping none; a stall in the engine therefore shows as
// service latency rather than as a caller that quietly logged less.
//
// Two latencies are recorded per event, each goroutine into its own index
// of a hist.Sharded: the call latency (the Log call alone) and the service
// latency (from the time the event was due to the end of the call, the
// coordinated-omission-corrected measure). The service latency includes
// any lateness of the goroutine itself (a timer that fires late, a
// processor that is busy), as a request handler's would; with more
// goroutines than processors it measures the whole process. In the closed
// loop (rate 0) there is no schedule and only the call latency is
// recorded.
type workload struct {
	log        *shardlog.Logger
	goroutines int
	fields     int
	interval   float64 // ns between one goroutine's events; 0: closed loop
	call       *hist.Sharded
	service    *hist.Sharded // nil in the closed loop
	workers    []worker
}

func newWorkload(c config, log *shardlog.Logger) (*workload, error) {
	w := &workload{
		log:        log,
		goroutines: c.goroutines,
		fields:     c.fields,
		workers:    make([]worker, c.goroutines),
	}
	var err error
	if w.call, err = hist.NewLatencySharded(c.goroutines); err != nil {
		return nil, err
	}
	if c.rate > 0 {
		w.interval = float64(time.Second) * float64(c.goroutines) / float64(c.rate)
		if w.service, err = hist.NewLatencySharded(c.goroutines); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// offset staggers the goroutines' schedules evenly over one interval, so
// that they do not all log at the same instant.
func (w *workload) offset(g int) float64 {
	return w.interval * float64(g) / float64(w.goroutines)
}

// run generates the load for d from start, and returns when every
// goroutine has stopped. When ctx is done the goroutines stop early; ctx
// also bounds the wait of a call under the Block policy (the engine is
// built WithContextBoundsWait).
func (w *workload) run(ctx context.Context, start time.Time, d time.Duration) {
	end := start.Add(d)
	for g := range w.workers {
		if w.interval > 0 {
			if left := float64(d) - w.offset(g); left > 0 {
				w.workers[g].scheduled = uint64(math.Ceil(left / w.interval))
			}
		}
	}
	var wg sync.WaitGroup
	for g := range w.workers {
		wg.Go(func() {
			if w.interval > 0 {
				w.openLoop(ctx, g, start, end)
			} else {
				w.closedLoop(ctx, g, end)
			}
		})
	}
	wg.Wait()
}

// openLoop is goroutine g of an open-loop run.
func (w *workload) openLoop(ctx context.Context, g int, start, end time.Time) {
	wk := &w.workers[g]
	call, service := w.call.Recorder(g), w.service.Recorder(g)
	fields := make([]shardlog.Field, w.fields)
	done := ctx.Done()
	cutoff := end.Add(lateCutoff)
	offset := w.offset(g)
	for k := range wk.scheduled {
		due := start.Add(time.Duration(offset + float64(k)*w.interval))
		now, ok := waitUntil(due, done)
		if !ok || now.After(cutoff) {
			return
		}
		lvl, msg := w.event(fields, g, k)
		t0 := time.Now()
		w.log.Log(ctx, lvl, msg, fields...)
		t1 := time.Now()
		call.Record(int64(t1.Sub(t0)))
		service.Record(int64(t1.Sub(due)))
		wk.sent.Store(k + 1)
	}
}

// closedLoop is goroutine g of a closed-loop run: one call after another.
func (w *workload) closedLoop(ctx context.Context, g int, end time.Time) {
	wk := &w.workers[g]
	call := w.call.Recorder(g)
	fields := make([]shardlog.Field, w.fields)
	done := ctx.Done()
	for k := uint64(0); ; k++ {
		lvl, msg := w.event(fields, g, k)
		t0 := time.Now()
		if !t0.Before(end) || (k%64 == 0 && isDone(done)) {
			return
		}
		w.log.Log(ctx, lvl, msg, fields...)
		call.Record(int64(time.Since(t0)))
		wk.sent.Store(k + 1)
	}
}

// event fills fields for goroutine g's k-th event (k from 0) and returns
// its level and message.
func (w *workload) event(fields []shardlog.Field, g int, k uint64) (shardlog.Level, string) {
	h := mix(uint64(g)<<48 ^ k)
	for i := range fields {
		fields[i] = fieldMakers[i](h)
	}
	return levelOf(k + 1)
}

// waitUntil returns once the clock has reached t, with the time it read,
// or false as soon as done is closed (an interrupt is not held up by a
// long interval at a low rate).
func waitUntil(t time.Time, done <-chan struct{}) (time.Time, bool) {
	for {
		now := time.Now()
		ahead := t.Sub(now)
		switch {
		case ahead <= 0:
			return now, !isDone(done)
		case ahead > spinBelow:
			timer := time.NewTimer(ahead - spinBelow)
			select {
			case <-timer.C:
			case <-done:
				timer.Stop()
				return now, false
			}
		default:
			runtime.Gosched()
		}
	}
}

func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// sent is the number of log calls made so far.
func (w *workload) sent() uint64 {
	var n uint64
	for g := range w.workers {
		n += w.workers[g].sent.Load()
	}
	return n
}

// scheduled is the number of events on the schedule; 0 in the closed loop.
func (w *workload) scheduled() uint64 {
	var n uint64
	for g := range w.workers {
		n += w.workers[g].scheduled
	}
	return n
}
