package format

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// jsonPlain marks the ASCII bytes a JSON string holds unescaped. Bytes
// from 0x80 up are false and go through UTF-8 decoding.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONEscaped(dst, s)
	return append(dst, '"')
}

// appendJSONEscaped appends the body of a JSON string holding s. Beyond
// what RFC 8259 requires (quote, backslash, bytes below 0x20) it escapes
// DEL, the C1 controls U+0080–U+009F and U+2028/U+2029, so that neither a
// terminal showing the log nor a JavaScript parser reading it can be
// misled; invalid UTF-8 becomes \ufffd. Runs of plain bytes are copied in
// one append.
func appendJSONEscaped(dst []byte, s string) []byte {
	run := 0 // start of the bytes not yet copied
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[run:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			run = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[run:i]...)
			dst = append(dst, `\ufffd`...)
		case r <= 0x9f || r == '\u2028' || r == '\u2029':
			dst = append(dst, s[run:i]...)
			dst = append(dst, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		run = i
	}
	return append(dst, s[run:]...)
}

// jsonIsPlain reports whether s can go between quotes as it is.
func jsonIsPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			return false
		}
	}
	return true
}
