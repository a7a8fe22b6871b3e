package shardlogtest_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// Every test's cleanup shuts its engine down: no flusher or writer may be
// left running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeTB records what the helper does with its test. The embedded
// testing.TB is nil, so a method the helper is not expected to call
// panics.
type fakeTB struct {
	testing.TB

	mu       sync.Mutex
	logs     []string
	errs     []string
	fatals   []string
	cleanups []func()
	finished bool
	late     int // Log or Errorf calls after finish: t would panic
}

// errFatal stands for the runtime.Goexit of a real Fatalf.
var errFatal = fmt.Errorf("fakeTB: Fatalf")

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return "TestFake" }

func (f *fakeTB) Log(args ...any) { f.record(&f.logs, fmt.Sprint(args...)) }

func (f *fakeTB) Logf(format string, args ...any) { f.record(&f.logs, fmt.Sprintf(format, args...)) }

func (f *fakeTB) Error(args ...any) { f.record(&f.errs, fmt.Sprint(args...)) }

func (f *fakeTB) Errorf(format string, args ...any) { f.record(&f.errs, fmt.Sprintf(format, args...)) }

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.record(&f.fatals, fmt.Sprintf(format, args...))
	panic(errFatal)
}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeTB) record(to *[]string, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		f.late++
	}
	*to = append(*to, s)
}

// finish runs the cleanups, last registered first, as the testing
// package does when a test ends.
func (f *fakeTB) finish() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	f.mu.Lock()
	f.finished = true
	f.mu.Unlock()
}

func (f *fakeTB) Logs() []string   { return f.get(&f.logs) }
func (f *fakeTB) Errors() []string { return f.get(&f.errs) }

func (f *fakeTB) get(from *[]string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), *from...)
}

func (f *fakeTB) Late() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.late
}

// errorsText joins the recorded errors, for Contains assertions.
func (f *fakeTB) errorsText() string { return strings.Join(f.Errors(), "\n") }
