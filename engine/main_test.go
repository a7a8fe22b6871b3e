package engine_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test shuts its engines down; afterwards no flusher, writer or
// timer goroutine may be left running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
