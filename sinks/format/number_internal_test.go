package format

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAppendDurationMatchesString(t *testing.T) {
	ds := []time.Duration{
		0, 1, 999, 1000, 1001, 1500, 999999, time.Millisecond, time.Millisecond + 1,
		999999999, time.Second, time.Second + 1, 59 * time.Second, time.Minute,
		time.Hour - 1, time.Hour, 100*time.Hour + 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		// Spread the magnitudes over every unit.
		ds = append(ds, time.Duration(r.Int64N(math.MaxInt64>>r.IntN(63))))
	}
	for _, d := range ds {
		for _, d := range []time.Duration{d, -d} {
			require.Equal(t, d.String(), string(appendDuration(nil, d)))
		}
	}
}

// TestAppendFloatMatchesEncodingJSON checks that floats read back exactly
// and look as encoding/json writes them.
func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	fs := []float64{
		0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99999e-7, 1e-7, 1e20, 1e21, 123456789,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64, 1.0000000000000002,
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		if f := math.Float64frombits(r.Uint64()); !math.IsNaN(f) && !math.IsInf(f, 0) {
			fs = append(fs, f)
		}
		fs = append(fs, r.NormFloat64()*math.Pow(10, float64(r.IntN(50)-25)))
	}
	for _, f := range fs {
		got := appendFloat(nil, f)
		back, err := strconv.ParseFloat(string(got), 64)
		require.NoError(t, err)
		require.Equal(t, math.Float64bits(f), math.Float64bits(back), "%s", got)
		want, err := json.Marshal(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
}

func TestShortFile(t *testing.T) {
	require.Equal(t, "event/field.go", shortFile("/home/u/shardlog/engine/event/field.go"))
	require.Equal(t, "event/field.go", shortFile("event/field.go"))
	require.Equal(t, "/field.go", shortFile("/field.go"))
	require.Equal(t, "field.go", shortFile("field.go"))
}

// TestAppendIntMatchesStrconv covers every digit count, both sides of each
// power of ten, the extremes, and random values of every magnitude.
func TestAppendIntMatchesStrconv(t *testing.T) {
	us := []uint64{0, 1, 9, math.MaxUint64, math.MaxUint64 - 1}
	for p := uint64(10); ; p *= 10 {
		us = append(us, p-1, p, p+1)
		if p > math.MaxUint64/10 {
			break
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		us = append(us, r.Uint64()>>r.IntN(64))
	}
	for _, u := range us {
		require.Equal(t, strconv.FormatUint(u, 10), string(appendUint([]byte("x"), u))[1:])
		for _, i := range []int64{int64(u), -int64(u)} {
			require.Equal(t, strconv.FormatInt(i, 10), string(appendInt(nil, i)))
		}
	}
	for _, i := range []int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64} {
		require.Equal(t, strconv.FormatInt(i, 10), string(appendInt(nil, i)))
	}
}
