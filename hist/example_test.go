package hist_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/shardlog/shardlog/hist"
)

// A sink's writer goroutine records the latency of each write; a metrics
// reader on another goroutine exports the interval since its last scrape
// and the cumulative total.
func ExampleRecorder() {
	r := hist.NewLatencyRecorder()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		for _, d := range []time.Duration{800, 900, 1000, 1100, 1500} {
			r.Record(int64(d))
		}
	}()
	wg.Wait()

	interval, _ := json.Marshal(r.Snapshot())
	fmt.Println(string(interval))

	r.Record(int64(2 * time.Minute)) // beyond the range: clamped and counted
	total := r.Cumulative()
	fmt.Println(total.Count(), total.Overflow(), r.Snapshot().Count())
	// Output:
	// {"count":5,"min":800,"max":1500,"mean":1060,"p50":1000,"p95":1500,"p99":1500,"p999":1500,"overflow":0}
	// 6 1 1
}

// Many goroutines record at once, each into its own index.
func ExampleSharded() {
	const workers = 4
	s, err := hist.NewLatencySharded(workers)
	if err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.Recorder(w) // one writer per index
			for i := 1; i <= 250; i++ {
				r.Record(int64(time.Duration(i) * time.Microsecond))
			}
		}()
	}
	wg.Wait()

	snap := s.Snapshot()
	// Percentiles are within 0.1%: round them to the precision shown.
	p50 := time.Duration(snap.P50()).Round(time.Microsecond)
	fmt.Println(snap.Count(), p50)
	// Output: 1000 125µs
}
