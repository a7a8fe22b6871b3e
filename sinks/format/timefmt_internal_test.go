package format

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func zones(t testing.TB) []*time.Location {
	locs := []*time.Location{time.UTC, time.Local,
		time.FixedZone("E", 5*3600+30*60), time.FixedZone("W", -(9*3600 + 30*60)),
		time.FixedZone("LMT", -(4*3600 + 56*60 + 2)), time.FixedZone("Z", 0),
		time.FixedZone("S", -18), time.FixedZone("T", 59), time.FixedZone("U", -90)}
	for _, name := range []string{"America/New_York", "Europe/Berlin", "Australia/Lord_Howe"} {
		if l, err := time.LoadLocation(name); err == nil {
			locs = append(locs, l)
		}
	}
	return locs
}

// The fixed-layout path writes exactly what time.AppendFormat writes for
// DefaultTimeFormat, for any instant and zone it accepts, and declines
// years it cannot hold.
func TestDefaultTimeMatchesAppendFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	instants := []time.Time{
		time.Unix(0, 0), time.Unix(-1, 999999999), time.Unix(951782400, 0), // 2000-02-29
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(1900, 3, 1, 0, 0, 0, 1, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC),
	}
	for range 20000 {
		instants = append(instants, time.Unix(r.Int64N(253402300799+62135596800)-62135596800, r.Int64N(1e9)))
	}
	for _, loc := range zones(t) {
		for _, in := range instants {
			x := in.In(loc)
			want := x.AppendFormat(nil, DefaultTimeFormat)
			got, ok := appendDefaultTime(nil, x)
			if x.Year() < 0 || x.Year() > 9999 {
				require.False(t, ok, "%v", x)
				continue
			}
			require.True(t, ok, "%v", x)
			require.Equal(t, string(want), string(got), "%v in %v", in, loc)
		}
	}
	for _, y := range []int{-1, 10000, math.MaxInt32} {
		_, ok := appendDefaultTime(nil, time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC))
		require.False(t, ok, "year %d", y)
		require.Equal(t, time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC).AppendFormat(nil, DefaultTimeFormat),
			appendTime(nil, time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC), DefaultTimeFormat))
	}
}

func FuzzDefaultTime(f *testing.F) {
	f.Add(int64(0), int64(0), 0)
	f.Add(int64(-62135596800), int64(1), 3600)
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int) {
		x := time.Unix(sec, nsec).In(time.FixedZone("f", off%(24*3600)))
		got, ok := appendDefaultTime(nil, x)
		if !ok {
			if y := x.Year(); y >= 0 && y <= 9999 {
				t.Fatalf("declined %v", x)
			}
			return
		}
		if want := x.AppendFormat(nil, DefaultTimeFormat); string(want) != string(got) {
			t.Fatalf("%v: got %s want %s", x, got, want)
		}
	})
}

func BenchmarkTimeFormat(b *testing.B) {
	x := time.Date(2026, 11, 29, 16, 40, 5, 123456789, time.Local)
	buf := make([]byte, 0, 64)
	b.Run("fixed", func(b *testing.B) {
		for range b.N {
			buf, _ = appendDefaultTime(buf[:0], x)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		for range b.N {
			buf = x.AppendFormat(buf[:0], DefaultTimeFormat)
		}
	})
}

// putNanos writes what the nine-digit loop it replaced wrote, for the
// edges and for values spread over the range.
func TestPutNanosWritesNineDigits(t *testing.T) {
	check := func(ns int) {
		var b [9]byte
		putNanos(b[:], ns)
		if want := fmt.Sprintf("%09d", ns); string(b[:]) != want {
			t.Fatalf("putNanos(%d) = %q, want %q", ns, b[:], want)
		}
	}
	for _, ns := range []int{0, 1, 9, 10, 999, 1000, 999_999, 1_000_000, 123_456_789, 999_999_999} {
		check(ns)
	}
	for ns := 7; ns < 1_000_000_000; ns += 999_983 {
		check(ns)
	}
}
