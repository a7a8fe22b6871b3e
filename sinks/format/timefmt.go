package format

import (
	"sync/atomic"
	"time"
)

// appendTime appends t formatted with layout. The default layout takes a
// fixed-layout path: time.AppendFormat parses its layout on every call,
// and on the engine's end-to-end path that parse and the generic digit
// writing were a quarter of all CPU (issue 8's profile). Every other
// layout goes to time.AppendFormat.
func appendTime(dst []byte, t time.Time, layout string) []byte {
	if layout == DefaultTimeFormat {
		if out, ok := appendDefaultTime(dst, t); ok {
			return out
		}
	}
	return t.AppendFormat(dst, layout)
}

// appendDefaultTime writes t as DefaultTimeFormat does,
// "2006-01-02T15:04:05.000000000Z07:00": the date and clock in t's
// location, nine fractional digits, and "Z" for a zero offset or ±hh:mm
// (seconds of an offset dropped, as time.Format drops them). It reports
// false, writing nothing, for a year outside 0..9999, which the layout
// cannot hold in four digits.
func appendDefaultTime(dst []byte, t time.Time) ([]byte, bool) {
	_, off := t.Zone()
	secs := t.Unix() + int64(off)
	var b [35]byte
	if c := lastSecond.Load(); c != nil && c.secs == secs {
		copy(b[:19], c.text[:]) // the common case: the same second as the last event
	} else {
		days := secs / 86400
		rem := secs % 86400
		if rem < 0 {
			rem += 86400
			days--
		}
		y, m, d := civil(days)
		if y < 0 || y > 9999 {
			return dst, false
		}
		put4(b[0:], y)
		b[4] = '-'
		put2(b[5:], m)
		b[7] = '-'
		put2(b[8:], d)
		b[10] = 'T'
		put2(b[11:], int(rem/3600))
		b[13] = ':'
		put2(b[14:], int(rem%3600/60))
		b[16] = ':'
		put2(b[17:], int(rem%60))
		nc := &secondText{secs: secs}
		copy(nc.text[:], b[:19])
		lastSecond.Store(nc)
	}
	b[19] = '.'
	putNanos(b[20:29], t.Nanosecond())
	if off == 0 {
		b[29] = 'Z'
		return append(dst, b[:30]...), true
	}
	// As time.Format does: the offset in whole minutes (truncated toward
	// zero), signed by those minutes, so -18s prints "+00:00".
	zone := off / 60
	sign := byte('+')
	if zone < 0 {
		sign, zone = '-', -zone
	}
	if zone/60 >= 100 {
		// Hours of three digits (only a hand-made zone has them): leave
		// them to time.Format, whose bytes this writer promises.
		return dst, false
	}
	b[29] = sign
	put2(b[30:], zone/60)
	b[32] = ':'
	put2(b[33:], zone%60)
	return append(dst, b[:35]...), true
}

// secondText is the text of one second of local (offset-applied) time,
// "2006-01-02T15:04:05", keyed by the offset-applied Unix seconds: two
// times with the same key print the same date and clock whatever their
// zone, since the key already includes the offset.
type secondText struct {
	secs int64
	text [19]byte
}

// lastSecond caches the text of the last second formatted: events come in
// time order, thousands a second, so the date arithmetic runs about once
// a second instead of once an event. An immutable value published by an
// atomic pointer, shared by every flusher; a miss builds a new one.
var lastSecond atomic.Pointer[secondText]

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (H. Hinnant's days_from_civil, inverted), exact for any int64 day count
// whose year fits an int.
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365]
	mp := (5*doy + 2) / 153                  // [0, 11], March first
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	if month <= 2 {
		y++
	}
	return int(y), month, day
}

// putNanos writes ns (0 to 999 999 999) as nine digits, three at a time
// from a table: two divisions instead of a chain of nine, which was 6% of
// a delivered event's CPU.
func putNanos(b []byte, ns int) {
	hi := ns / 1_000_000
	rest := ns - hi*1_000_000
	mid := rest / 1000
	lo := rest - mid*1000
	_ = b[8]
	copy(b[0:3], threeDigits[hi][:])
	copy(b[3:6], threeDigits[mid][:])
	copy(b[6:9], threeDigits[lo][:])
}

// threeDigits[v] is v as three decimal digits.
var threeDigits = func() (t [1000][3]byte) {
	for v := range t {
		t[v] = [3]byte{byte('0' + v/100), byte('0' + v/10%10), byte('0' + v%10)}
	}
	return t
}()

func put2(b []byte, v int) {
	b[0] = byte('0' + v/10)
	b[1] = byte('0' + v%10)
}

func put4(b []byte, v int) {
	b[0] = byte('0' + v/1000)
	b[1] = byte('0' + v/100%10)
	b[2] = byte('0' + v/10%10)
	b[3] = byte('0' + v%10)
}
