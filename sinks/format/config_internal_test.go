package format

import "testing"

// isZero must agree with comparing against Keys{} for every combination
// of empty and set names (one set name is enough to make Keys non-zero).
func TestKeysIsZeroMatchesComparison(t *testing.T) {
	for mask := range 1 << 5 {
		var k Keys
		set := func(bit int, s *string) {
			if mask&(1<<bit) != 0 {
				*s = "x"
			}
		}
		set(0, &k.Time)
		set(1, &k.Level)
		set(2, &k.Message)
		set(3, &k.Logger)
		set(4, &k.Caller)
		if got, want := k.isZero(), k == (Keys{}); got != want {
			t.Fatalf("mask %05b: isZero %v, comparison %v", mask, got, want)
		}
	}
}
