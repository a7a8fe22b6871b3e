package shardlogtest_test

import (
	"fmt"
	"testing"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/shardlogtest"
)

// checkout is the code under test.
func checkout(log *shardlog.Logger, order string) {
	log = log.Named("shop").With(shardlog.String("order", order))
	log.Debug("validating")
	log.Info("order placed", shardlog.Int("items", 3))
}

// testCheckout is what a test looks like; in a _test.go file it would be
// func TestCheckout(t *testing.T).
func testCheckout(t testing.TB) {
	log, obs := shardlogtest.New(t)
	checkout(log, "A-17")

	placed := obs.FilterMessage("order placed")
	if placed.Len() != 1 {
		t.Errorf("got %d 'order placed' events, want 1", placed.Len())
		return
	}
	e := placed[0]
	fmt.Println(e.Level, e.Logger, e.FieldMap()["order"], e.FieldMap()["items"])
}

// printT stands in for the *testing.T the example has not got: it prints
// what the test logs and runs the cleanups when the test ends.
type printT struct {
	testing.TB
	cleanups []func()
}

func (*printT) Helper()                           {}
func (*printT) Log(args ...any)                   { fmt.Println(append([]any{"t.Log:"}, args...)...) }
func (*printT) Errorf(format string, args ...any) { fmt.Printf("FAIL: "+format+"\n", args...) }
func (p *printT) Cleanup(f func())                { p.cleanups = append(p.cleanups, f) }

func (p *printT) end() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
}

// A test gets a logger whose output goes to t.Log and whose events it can
// assert on; the cleanup shuts the engine down and would fail the test if
// an event had been lost.
func Example() {
	t := &printT{}
	testCheckout(t)
	t.end()
	// Output:
	// t.Log: level=DEBUG logger=shop msg=validating order=A-17
	// t.Log: level=INFO logger=shop msg="order placed" order=A-17 items=3
	// INFO shop A-17 3
}
