package engine

import "reflect"

// identical reports whether a and b are the same value: the same pointer,
// or equal values of one comparable type. Values that cannot be compared
// (a struct holding a slice, say) are taken as different rather than
// panicking, as == on two interfaces holding them would. New uses it for
// sinks given twice and encoders shared between sinks, the writer for a
// fallback that encodes as its sink does.
func identical(a, b any) (same bool) {
	ta := reflect.TypeOf(a)
	if ta == nil || ta != reflect.TypeOf(b) || !ta.Comparable() {
		return false
	}
	defer func() {
		if recover() != nil { // a comparable type holding an uncomparable value
			same = false
		}
	}()
	return a == b
}
