package bench

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/shardlog/shardlog"
)

// TestOutput checks, for every logger under test, that it writes the
// event it is benchmarked with: n events, delivered, each one line of
// JSON with the message and the five fields as the logger writes them,
// every bytes value once. It is what makes the benchmarks compare like
// with like.
func TestOutput(t *testing.T) {
	const n = 500 // below every queue's capacity: no logger may lose one
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			s := newSubject(t, p, true)
			for i := range n {
				s.log(i)
			}
			if err := s.deliver(); err != nil {
				t.Fatal(err)
			}
			if got := s.delivered(); got != n {
				t.Errorf("delivered %d of %d events", got, n)
			}
			if lost := s.lost(); lost != 0 {
				t.Errorf("lost %d events", lost)
			}
			out := s.out.Kept()
			if len(out) == 0 || out[len(out)-1] != '\n' {
				t.Fatalf("output does not end with a newline: %q", out)
			}
			seen := make([]bool, n)
			for k, line := range bytes.Split(out[:len(out)-1], []byte{'\n'}) {
				i, err := checkEvent(p.format, line)
				if err != nil {
					t.Fatalf("line %d: %v\n%s", k+1, err, line)
				}
				if i < 0 || i >= n || seen[i] {
					t.Fatalf("line %d: bytes=%d out of range or repeated\n%s", k+1, i, line)
				}
				seen[i] = true
			}
		})
	}
}

// TestCheckEventRejects shows that TestOutput fails when a logger writes
// something other than the event: each line here differs from a good
// one in one respect.
func TestCheckEventRejects(t *testing.T) {
	good := `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`
	if i, err := checkEvent(shardlogFormat, []byte(good)); err != nil || i != 7 {
		t.Fatalf("good line refused: %d, %v", i, err)
	}
	bad := map[string]string{
		"not JSON":        `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO"`,
		"two values":      good + good,
		"no took":         `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":200,"bytes":7,"cached":false}`,
		"extra member":    `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false,"caller":"x.go:1"}`,
		"wrong message":   `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`,
		"wrong level":     `{"time":"2026-01-02T03:04:05.123456789Z","level":"DEBUG","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`,
		"status a string": `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":"200","took":"1.5ms","bytes":7,"cached":false}`,
		"took a number":   `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":1500000,"bytes":7,"cached":false}`,
		"took wrong":      `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5s","bytes":7,"cached":false}`,
		"bytes a float":   `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7.5,"cached":false}`,
		"cached a string": `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":"false"}`,
		"empty time":      `{"time":"","level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`,
		// The time is encoding work the loggers are compared on: it must
		// be the logger's own form and resolution, and a time of now.
		"time null":          `{"time":null,"level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`,
		"time a number":      `{"time":0,"level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`,
		"time in 1970":       `{"time":"1970-01-01T00:00:00.5Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`,
		"time to the second": `{"time":"2026-01-02T03:04:05Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`,
		// Exactly one object, each member once.
		"trailing brace": good + "}",
		"member twice":   `{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"wrong","msg":"request handled","method":"GET","status":200,"took":"1.5ms","bytes":7,"cached":false}`,
	}
	for name, line := range bad {
		if _, err := checkEvent(shardlogFormat, []byte(line)); err == nil {
			t.Errorf("%s: accepted %s", name, line)
		}
	}
	// Each logger's duration form is its own: zap's seconds are not
	// slog's nanoseconds.
	if _, err := checkEvent(zapPeer.format, []byte(`{"ts":1.7e9,"level":"info","msg":"request handled","method":"GET","status":200,"took":1500000,"bytes":7,"cached":false}`)); err == nil {
		t.Error("zap: accepted took in nanoseconds")
	}
	if _, err := checkEvent(slogPeer.format, []byte(`{"time":"2026-01-02T03:04:05.123456789Z","level":"INFO","msg":"request handled","method":"GET","status":200,"took":1.5,"bytes":7,"cached":false}`)); err == nil {
		t.Error("slog: accepted took in milliseconds")
	}
}

// TestAccounting checks, for every logger under test, that its figures
// add up under load (4 goroutines logging as fast as they can): nothing
// is delivered twice, a lossless logger delivers everything, and one
// whose loss report is exact reports everything it did not deliver.
// zerolog's diode report is not exact (see zerologDiodePeer); the test
// logs how far it is off.
func TestAccounting(t *testing.T) {
	const goroutines, per = 4, 5000
	const attempted = goroutines * per
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			s := newSubject(t, p, true)
			delivered, lost := logConcurrently(t, s, goroutines, per)
			switch {
			case delivered > attempted:
				t.Errorf("delivered %d of %d events", delivered, attempted)
			case p.lossless && (delivered != attempted || lost != 0):
				t.Errorf("lossless, yet delivered %d of %d and lost %d", delivered, attempted, lost)
			case p.exactLoss && delivered+lost != attempted:
				t.Errorf("delivered %d + lost %d != attempted %d", delivered, lost, attempted)
			}
			// Nothing delivered twice, for every logger: a count alone
			// would let duplicates hide behind losses.
			out := s.out.Kept()
			seen := make([]bool, attempted)
			lines := 0
			for k, line := range bytes.Split(bytes.TrimSuffix(out, []byte{'\n'}), []byte{'\n'}) {
				if len(line) == 0 {
					continue
				}
				i, err := checkEvent(p.format, line)
				if err != nil {
					t.Fatalf("line %d: %v\n%s", k+1, err, line)
				}
				if i < 0 || i >= attempted || seen[i] {
					t.Fatalf("line %d: bytes=%d out of range or delivered twice", k+1, i)
				}
				seen[i] = true
				lines++
			}
			if int64(lines) != int64(delivered) {
				t.Errorf("%d lines, %d counted delivered", lines, delivered)
			}
		})
	}
}

// TestShardlogAccountingUnderLoss checks shardlog's loss report where it
// loses: TestAccounting's load fits the DropOldest subjects' spill (the
// default 128 MiB budget keeps every eviction), so it never meets a loss
// for them. Here the same subjects run with 64 slots a shard and a
// 256 KiB budget, so evictions past the budget are lost: delivered +
// reported lost must equal attempted, with something lost.
func TestShardlogAccountingUnderLoss(t *testing.T) {
	const goroutines, per = 4, 20000
	const attempted = goroutines * per
	tight := []shardlog.Option{shardlog.WithCapacity(64), shardlog.WithMaxQueueBytes(256 << 10)}
	for _, c := range []struct {
		name  string
		q     shardlog.QueueKind
		extra []shardlog.Option
	}{
		{"lockfree-drop-oldest", shardlog.LockFree, nil},
		{"mutex-drop-oldest", shardlog.MutexQueue, nil},
		{"lockfree-drop-oldest-coalesce-1ms", shardlog.LockFree, []shardlog.Option{shardlog.WithWriteCoalescing(time.Millisecond)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := newLineCounter(false)
			s, err := newShardlog(out, c.q, shardlog.DropOldest, append(tight, c.extra...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			delivered, lost := logConcurrently(t, s, goroutines, per)
			if lost == 0 {
				t.Fatalf("nothing lost: the load does not test the loss report")
			}
			if delivered+lost != attempted {
				t.Errorf("delivered %d + lost %d != attempted %d", delivered, lost, attempted)
			}
		})
	}
}

// logConcurrently logs goroutines × per events through s from as many
// goroutines (bytes = goroutine × per + k), delivers, and returns what s
// counts delivered and lost.
func logConcurrently(t *testing.T, s *subject, goroutines, per int) (delivered, lost int64) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for k := range per {
				s.log(g*per + k)
			}
		})
	}
	wg.Wait()
	if err := s.deliver(); err != nil {
		t.Fatal(err)
	}
	delivered, lost = s.delivered(), s.lost()
	t.Logf("attempted %d, delivered %d, reported lost %d", goroutines*per, delivered, lost)
	return delivered, lost
}
