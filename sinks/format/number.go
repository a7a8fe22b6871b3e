package format

import (
	"math"
	"strconv"
	"time"
)

// appendFloat appends the shortest decimal that parses back to f, in plain
// notation for magnitudes from 1e-6 to below 1e21 and in exponent notation
// outside it (the rule JavaScript uses, so a JSON reader sees the number
// it would write itself). f must be finite.
func appendFloat(dst []byte, f float64) []byte {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
		// strconv pads the exponent to two digits: 1e-07 becomes 1e-7.
		if n := len(dst); dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
		return dst
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// nonFinite returns the name of a NaN or infinite f, or "" for a finite f.
func nonFinite(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return ""
}

// appendDuration appends d as time.Duration.String writes it ("1h2m3.5s",
// "1.5µs", "0s"), which time.ParseDuration reads back exactly, without the
// allocation of String.
func appendDuration(dst []byte, d time.Duration) []byte {
	if d == 0 {
		return append(dst, '0', 's')
	}
	u := uint64(d)
	if d < 0 {
		dst = append(dst, '-')
		u = -u // also right for math.MinInt64
	}
	switch {
	case u < uint64(time.Microsecond):
		dst = strconv.AppendUint(dst, u, 10)
		return append(dst, 'n', 's')
	case u < uint64(time.Millisecond):
		dst = appendDecimal(dst, u, 3)
		return append(dst, "µs"...)
	case u < uint64(time.Second):
		dst = appendDecimal(dst, u, 6)
		return append(dst, 'm', 's')
	}
	if h := u / uint64(time.Hour); h > 0 {
		u -= h * uint64(time.Hour)
		dst = strconv.AppendUint(dst, h, 10)
		dst = append(dst, 'h')
		m := u / uint64(time.Minute)
		u -= m * uint64(time.Minute)
		dst = strconv.AppendUint(dst, m, 10)
		dst = append(dst, 'm')
	} else if m := u / uint64(time.Minute); m > 0 {
		u -= m * uint64(time.Minute)
		dst = strconv.AppendUint(dst, m, 10)
		dst = append(dst, 'm')
	}
	dst = appendDecimal(dst, u, 9)
	return append(dst, 's')
}

// appendDecimal appends v / 10^scale with the fraction's trailing zeros,
// and the point when nothing is left of it, removed.
func appendDecimal(dst []byte, v uint64, scale int) []byte {
	p := uint64(1)
	for range scale {
		p *= 10
	}
	dst = strconv.AppendUint(dst, v/p, 10)
	frac := v % p
	if frac == 0 {
		return dst
	}
	for frac%10 == 0 {
		frac /= 10
		scale--
	}
	var digits [9]byte
	for i := scale - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	dst = append(dst, '.')
	return append(dst, digits[:scale]...)
}
