package format

import (
	"math"
	"math/bits"
	"slices"
	"strconv"
	"time"
)

// appendUint appends v in decimal, as strconv.AppendUint(dst, v, 10)
// does, but writes the digits straight into dst, two at a time: strconv
// formats into a buffer of its own and then copies (a memmove call per
// number, which was a third of the encoder's memmove time on the peers'
// event).
func appendUint(dst []byte, v uint64) []byte {
	if v < 10 {
		return append(dst, byte('0'+v))
	}
	n := decimalLen(v)
	dst = slices.Grow(dst, n)
	l := len(dst)
	dst = dst[:l+n]
	b := dst[l:]
	i := n
	for v >= 100 {
		q := v / 100
		r := v - q*100
		i -= 2
		b[i], b[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		v = q
	}
	if v >= 10 {
		b[0], b[1] = digitPairs[2*v], digitPairs[2*v+1]
	} else {
		b[0] = byte('0' + v)
	}
	return dst
}

// appendBool appends true or false; byte by byte, so that the compiler
// stores them (strconv.AppendBool copies a string: a memmove call).
func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 't', 'r', 'u', 'e')
	}
	return append(dst, 'f', 'a', 'l', 's', 'e')
}

// appendInt appends v in decimal, as strconv.AppendInt(dst, v, 10) does.
func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		return appendUint(dst, -uint64(v)) // also right for math.MinInt64
	}
	return appendUint(dst, uint64(v))
}

// decimalLen is the number of decimal digits of v, v > 0.
func decimalLen(v uint64) int {
	// log10(2) ≈ 1233/4096: an estimate that is exact or one short.
	n := bits.Len64(v) * 1233 >> 12
	if v >= powersOf10[n] {
		n++
	}
	return n
}

// powersOf10[i] is 10^i; the last is the largest that fits in a uint64.
var powersOf10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// digitPairs holds "00" to "99" end to end.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" + "20212223242526272829" + "30313233343536373839" +
	"40414243444546474849" + "50515253545556575859" + "60616263646566676869" +
	"70717273747576777879" + "80818283848586878889" + "90919293949596979899"

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
		dst = appendUint(dst, u)
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
		dst = appendUint(dst, h)
		dst = append(dst, 'h')
		m := u / uint64(time.Minute)
		u -= m * uint64(time.Minute)
		dst = appendUint(dst, m)
		dst = append(dst, 'm')
	} else if m := u / uint64(time.Minute); m > 0 {
		u -= m * uint64(time.Minute)
		dst = appendUint(dst, m)
		dst = append(dst, 'm')
	}
	dst = appendDecimal(dst, u, 9)
	return append(dst, 's')
}

// appendDecimal appends v / 10^scale, for scale 3, 6 or 9 (the callers'
// µs, ms and s), with the fraction's trailing zeros, and the point when
// nothing is left of it, removed.
//
// The divisors are constants, which the compiler turns into
// multiplications, and the fraction is written three digits at a time
// and trimmed as bytes. A variable power of ten cost a 64-bit DIV, and
// stripping zeros by dividing by ten a chain of dependent
// multiplications: 12 ns for 1.5ms before, 6 after.
func appendDecimal(dst []byte, v uint64, scale int) []byte {
	var frac [10]byte // the point and up to nine digits
	frac[0] = '.'
	var rest uint64
	switch scale {
	case 3:
		rest = v % 1e3
		dst = appendUint(dst, v/1e3)
		copy(frac[1:4], threeDigits[rest][:])
	case 6:
		rest = v % 1e6
		dst = appendUint(dst, v/1e6)
		copy(frac[1:4], threeDigits[rest/1e3][:])
		copy(frac[4:7], threeDigits[rest%1e3][:])
	default:
		scale = 9
		rest = v % 1e9
		dst = appendUint(dst, v/1e9)
		putNanos(frac[1:], int(rest))
	}
	if rest == 0 {
		return dst
	}
	n := scale + 1
	for frac[n-1] == '0' {
		n--
	}
	return append(dst, frac[:n]...)
}
