package format

import (
	"strconv"
	"unicode/utf8"
)

// textBare marks the ASCII bytes a logfmt key or value may hold without
// quotes: printable ASCII except space, '=' and '"', which would end or
// confuse the pair. A backslash is bare: outside quotes it means itself.
var textBare = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = c != '=' && c != '"'
	}
	return t
}()

// textPlain marks the ASCII bytes a quoted value holds unescaped.
var textPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// textIsBare reports whether s can be written without quotes (the empty
// string can, as part of a dotted key; as a whole key or value it cannot).
// Non-ASCII runes may stay bare when they are printable by strconv.IsPrint,
// which excludes Unicode spaces other than U+0020, the C1 controls, the
// line and paragraph separators and the bidirectional format characters.
func textIsBare(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !textBare[c] {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !strconv.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}

// appendTextString appends s as a logfmt key or value: bare when it can
// be, otherwise quoted.
func appendTextString(dst []byte, s string) []byte {
	if s != "" && textIsBare(s) {
		return append(dst, s...)
	}
	return appendTextQuoted(dst, s)
}

// appendTextQuoted appends s in double quotes.
func appendTextQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendTextEscaped(dst, s)
	return append(dst, '"')
}

// appendTextEscaped appends the body of a quoted string holding s, with
// Go's escapes so that strconv.Unquote gives s back, invalid UTF-8
// included: \n \r \t \" \\, \xNN for other ASCII controls, DEL and bytes
// that are not UTF-8, and \uNNNN or \UNNNNNNNN for runes strconv.IsPrint
// rejects. The result is printable UTF-8 with no line break.
func appendTextEscaped(dst []byte, s string) []byte { return appendGoEscaped(dst, s, &textPlain) }

// appendGoEscaped appends s with the ASCII bytes plain rejects escaped:
// '"', '\' and ']' by a backslash, '\n', '\r' and '\t' as such, the rest
// as \xNN; invalid UTF-8 as \xNN and runes strconv.IsPrint rejects as
// \uNNNN or \UNNNNNNNN. The text encoder's quoted strings (']' is plain
// there) and syslog's PARAM-VALUEs and MSG (RFC 5424 escapes '"', '\' and
// ']' in a PARAM-VALUE) share it.
func appendGoEscaped(dst []byte, s string, plain *[256]bool) []byte {
	run := 0 // start of the bytes not yet copied
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[run:i]...)
			switch c {
			case '"', '\\', ']':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			run = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[run:i]...)
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case !strconv.IsPrint(r):
			dst = append(dst, s[run:i]...)
			if r < 0x10000 {
				dst = append(dst, '\\', 'u')
				dst = appendHex(dst, uint32(r), 4)
			} else {
				dst = append(dst, '\\', 'U')
				dst = appendHex(dst, uint32(r), 8)
			}
		default:
			i += size
			continue
		}
		i += size
		run = i
	}
	return append(dst, s[run:]...)
}

// appendHex appends the low n hex digits of v.
func appendHex(dst []byte, v uint32, n int) []byte {
	for shift := 4 * (n - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[v>>shift&0xf])
	}
	return dst
}
