package format

import "time"

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
	ns := t.Nanosecond()
	var b [35]byte
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
	b[19] = '.'
	for i := 28; i >= 20; i-- {
		b[i] = byte('0' + ns%10)
		ns /= 10
	}
	if off == 0 {
		b[29] = 'Z'
		return append(dst, b[:30]...), true
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b[29] = sign
	put2(b[30:], off/3600)
	b[32] = ':'
	put2(b[33:], off%3600/60)
	return append(dst, b[:35]...), true
}

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
