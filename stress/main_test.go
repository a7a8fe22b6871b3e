package stress

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

// lumberjackMill is the goroutine lumberjack v2.2.1 starts for each
// rotating file and never stops (docs/DESIGN.md, "Known limits").
var lumberjackMill = goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun")

// scale multiplies every scenario's volume: SHARDLOG_STRESS_SCALE, 1 unless
// set. TestMain checks it before any test runs.
var scale = 1

// TestMain reads the scale and, once every test has shut its engines down,
// requires that no flusher, writer, timer or producer goroutine is left.
func TestMain(m *testing.M) {
	if s := os.Getenv("SHARDLOG_STRESS_SCALE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "stress: SHARDLOG_STRESS_SCALE must be a positive integer, got %q\n", s)
			os.Exit(2)
		}
		scale = n
	}
	goleak.VerifyTestMain(m, lumberjackMill)
}

// scaled is n times the scale.
func scaled(n int) int { return n * scale }
