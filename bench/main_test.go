package bench

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"sync/atomic"
	"testing"
)

// diodeCollisions counts the "Diode set collision" lines zerolog's diode
// wrote to the standard logger.
var diodeCollisions atomic.Int64

// collisionFilter is the standard logger's output while the tests and
// benchmarks run. zerolog's diode logs "Diode set collision" there
// (log.Println) each time a writer finds its slot taken and starts again
// with another; a line printed while a benchmark runs splits that
// benchmark's result line, which benchstat then cannot read. The filter
// counts those lines and passes any other on to stderr.
type collisionFilter struct{}

func (collisionFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("Diode set collision")) {
		diodeCollisions.Add(1)
		return len(p), nil
	}
	return os.Stderr.Write(p)
}

// TestMain installs collisionFilter and, at the end, says how many
// collisions it counted.
func TestMain(m *testing.M) {
	log.SetOutput(collisionFilter{})
	code := m.Run()
	if n := diodeCollisions.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "zerolog diode: %d set collisions (logged by the diode, counted by TestMain)\n", n)
	}
	os.Exit(code)
}
