package format

import "unsafe"

// view returns b as a string without copying. The caller must not change
// b while the string is in use.
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// rewrite replaces dst[start:] with esc's encoding of it, without
// allocating. The encoding is appended after the raw bytes, which stay
// intact while esc reads them (an append that moves dst leaves the old
// array as it was), and is then moved down over them. Encoders use it for
// text they can only produce into dst, such as a formatted time.
func rewrite(dst []byte, start int, esc func(dst []byte, s string) []byte) []byte {
	end := len(dst)
	dst = esc(dst, view(dst[start:end]))
	n := copy(dst[start:], dst[end:])
	return dst[:start+n]
}
