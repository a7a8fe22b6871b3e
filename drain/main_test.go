package drain

import (
	"testing"

	"go.uber.org/goleak"
)

// Tests that abandon a step release its goroutine before they end (a
// channel closed in t.Cleanup), so that afterwards nothing may be left.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
