package format

import "unicode/utf8"

// maxRawDepth bounds the nesting of an embedded JSON value; deeper values
// are written as strings. It keeps the validator's recursion short.
const maxRawDepth = 256

// embeddable reports whether s, the JSON text of a KindAny field, can be
// copied into a JSON line as it is: exactly one valid JSON value whose
// only whitespace is the space and whose strings hold nothing that
// appendJSONEscaped would escape (raw controls are invalid JSON anyway; a
// raw DEL, C1 control or U+2028/U+2029 is valid but would break the "no
// raw terminal control" rule). event.Any produces compact JSON with
// json.Marshal, so almost every value passes; the rest become strings.
//
// It does the work of json.Valid plus those checks in one pass, on a
// string and without the scanner pool, so it never allocates.
func embeddable(s string) bool {
	i, ok := scanRawValue(s, 0, 0)
	return ok && i == len(s)
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// scanRawValue scans the value at s[i:], with surrounding spaces, and
// returns the index after it.
func scanRawValue(s string, i, depth int) (int, bool) {
	i = skipSpaces(s, i)
	if i >= len(s) {
		return i, false
	}
	var ok bool
	switch c := s[i]; {
	case c == '{':
		if depth >= maxRawDepth {
			return i, false
		}
		i = skipSpaces(s, i+1)
		if i < len(s) && s[i] == '}' {
			return skipSpaces(s, i+1), true
		}
		for {
			if i >= len(s) || s[i] != '"' {
				return i, false
			}
			if i, ok = scanRawString(s, i); !ok {
				return i, false
			}
			if i = skipSpaces(s, i); i >= len(s) || s[i] != ':' {
				return i, false
			}
			if i, ok = scanRawValue(s, i+1, depth+1); !ok || i >= len(s) {
				return i, false
			}
			switch s[i] {
			case ',':
				i = skipSpaces(s, i+1)
			case '}':
				return skipSpaces(s, i+1), true
			default:
				return i, false
			}
		}
	case c == '[':
		if depth >= maxRawDepth {
			return i, false
		}
		i = skipSpaces(s, i+1)
		if i < len(s) && s[i] == ']' {
			return skipSpaces(s, i+1), true
		}
		for {
			if i, ok = scanRawValue(s, i, depth+1); !ok || i >= len(s) {
				return i, false
			}
			switch s[i] {
			case ',':
				i++
			case ']':
				return skipSpaces(s, i+1), true
			default:
				return i, false
			}
		}
	case c == '"':
		i, ok = scanRawString(s, i)
	case c == 't':
		i, ok = scanLiteral(s, i, "true")
	case c == 'f':
		i, ok = scanLiteral(s, i, "false")
	case c == 'n':
		i, ok = scanLiteral(s, i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		i, ok = scanRawNumber(s, i)
	default:
		return i, false
	}
	return skipSpaces(s, i), ok
}

func scanLiteral(s string, i int, lit string) (int, bool) {
	if len(s)-i < len(lit) || s[i:i+len(lit)] != lit {
		return i, false
	}
	return i + len(lit), true
}

// scanRawString scans the string that starts with the quote at s[i].
func scanRawString(s string, i int) (int, bool) {
	for i++; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(s) {
				return i, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(s)-i < 6 || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < utf8.RuneSelf:
			if !jsonPlain[c] {
				return i, false
			}
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || r <= 0x9f || r == '\u2028' || r == '\u2029' {
				return i, false
			}
			i += size
		}
	}
	return i, false
}

// scanRawNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanRawNumber(s string, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func skipDigits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
