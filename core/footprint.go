package core

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// fieldSize is what one Field costs in a slice: 40 bytes on 64-bit platforms.
const fieldSize = int(unsafe.Sizeof(Field{}))

const (
	// maxFootprintDepth is how many levels of groups Footprint and Truncate
	// look into. A group nested deeper counts as its member count ×
	// fieldSize only, so that a hostile value cannot overflow the stack.
	maxFootprintDepth = 64
	// maxFootprintMembers is how many group members one call walks in all;
	// a group met after that counts as a too-deep one does. Group copies
	// Field values, not their members, so groups share members: 64 levels
	// of Group(k, g, g) are 128 Fields but 2^64 paths.
	maxFootprintMembers = 1 << 20
)

// Footprint returns an upper estimate of the heap bytes that an event with
// this message and these fields keeps alive beyond the Event struct: the
// message, every key and string value, and each group's member slice, with
// its members counted recursively. It walks the fields once and does not
// allocate.
//
// Keys count although they are usually literals, which live in the binary:
// a Field cannot tell a literal from a key built at run time, and the
// memory budget needs an upper bound. For the same reason a string shared
// by several fields counts each time.
//
// Groups nested more than 64 levels deep, and groups met after 2^20 group
// members have been walked, count as their member count ×
// unsafe.Sizeof(Field{}) only, without their contents.
func Footprint(msg string, fields []Field) int {
	n := len(msg) + len(fields)*fieldSize // each field's own bytes, as for group members
	budget := maxFootprintMembers
	for i := range fields {
		f := &fields[i]
		n += len(f.Key) + f.textLen()
		if f.kind == KindGroup {
			n += groupFootprint(f.Group(), 1, &budget)
		}
	}
	return n
}

func groupFootprint(members []Field, depth int, budget *int) int {
	n := len(members) * fieldSize
	if !walkGroup(members, depth, budget) {
		return n
	}
	for i := range members {
		m := &members[i]
		n += len(m.Key) + m.textLen()
		if m.kind == KindGroup {
			n += groupFootprint(m.Group(), depth+1, budget)
		}
	}
	return n
}

// walkGroup reports whether the members of a group depth levels down are
// to be walked, and takes them from budget if so. Footprint and Truncate
// both decide through it, in the same order, so they count the same bytes.
func walkGroup(members []Field, depth int, budget *int) bool {
	if depth > maxFootprintDepth || len(members) > *budget {
		return false
	}
	*budget -= len(members)
	return true
}

// Footprint is what the event keeps alive beyond its own struct:
// Footprint(e.Message, e.Fields()) less the inline fields (they live in
// the Event), plus the spare capacity of a spilled field slice. The Scope
// and the Logger name are not counted: they are shared by every event of
// a logger.
func (e *Event) Footprint() int {
	n := Footprint(e.Message, e.Fields())
	if e.extra != nil {
		return n + (cap(e.extra)-len(e.extra))*fieldSize
	}
	return n - int(e.n)*fieldSize
}

// Truncation says what Truncate removed.
type Truncation struct {
	// Bytes is the number of bytes removed: cut from string values (the
	// whole length of a replaced KindAny value), plus the Footprint of
	// every dropped field.
	Bytes int
	// Fields is the number of top-level fields dropped.
	Fields int
}

// TruncationSlack bounds how far Truncate's result may exceed max: the
// message is always kept and, when fields are dropped, a "!TRUNCATED" field
// is added, even if max leaves no room for them. The longest message
// marker is 40 bytes (a 19-digit count) and the longest "!TRUNCATED" field
// 118 (its own 40 bytes, 10 of key, two 19-digit counts); 192 covers both.
// For max >= 192 the result fits in max itself.
const TruncationSlack = 192

// TruncatedKey is the key of the field Truncate appends when it drops
// fields.
const TruncatedKey = "!TRUNCATED"

const (
	markerHead   = "…[truncated "
	markerTail   = " bytes]"
	markerFields = " fields, "
)

// Truncate returns a message and fields whose Footprint is at most max
// (at most max(max, 0) + TruncationSlack when max is below
// TruncationSlack). When they already fit it returns its arguments and a
// zero Truncation without allocating. It never modifies fields (it returns
// fields itself when only the message changed), and a string it cuts is
// copied, so the original can be collected.
//
// String values (the message, and the text of KindString, KindError,
// KindBytes and KindAny fields, inside groups too) are cut by water-filling:
// every value longer than a common cap c keeps its first c bytes, without
// splitting a valid UTF-8 sequence, followed by "…[truncated N bytes]" with
// N the bytes removed. c is the largest cap that fits, so small values stay
// whole. A value is cut only when that makes it shorter. A KindAny value is
// JSON, which a cut would break: it is replaced whole by a placeholder
// KindString field with the same key and the text "…[truncated N bytes]".
//
// When keys and structure alone do not fit, top-level fields are dropped
// from the end until the rest fits, and a placeholder KindString field
// with key "!TRUNCATED" and the text "…[truncated K fields, N bytes]" is
// appended, K being the fields dropped and N Truncation.Bytes. The message
// is always kept, cut if need be; for max <= 0 all fields are dropped.
//
// Truncate walks the fields a few times and binary-searches the cap over
// the kept values: O(n log L) for n fields and values, L the longest.
func Truncate(msg string, fields []Field, max int) (outMsg string, outFields []Field, cut Truncation) {
	total := Footprint(msg, fields)
	if total <= max {
		return msg, fields, Truncation{}
	}
	limit := max
	if limit < 0 {
		limit = 0
	}
	// Upper bound of the "!TRUNCATED" field's footprint, should one be
	// needed: K <= len(fields) and N <= total.
	trailer := fieldSize + len(TruncatedKey) + len(markerHead) + digits(len(fields)) + len(markerFields) + digits(total) + len(markerTail)

	// Walk the fields, cheapest form first (every value cut to its
	// marker), to find how many fit: all of them without the trailer, or
	// the longest prefix with it. The string values of that prefix are
	// collected for the water-filling.
	t := truncator{budget: maxFootprintMembers}
	// Each value collected takes at least a byte of limit.
	t.slots = make([]slot, 0, min(len(fields), limit)+1)
	t.slots = append(t.slots, newSlot(msg, false))
	least := t.slots[0].cost(0) // fixed bytes plus the least of every value, so far
	fixed := 0
	k, kFixed, kSlots := 0, 0, 1
	drop := false
	for i := range fields {
		t.collect = least <= limit
		fx, l := t.measure(&fields[i], 1)
		least += fx + l
		fixed += fx
		if least > limit {
			drop = true
			break
		}
		if least+trailer <= limit {
			k, kFixed, kSlots = i+1, fixed, len(t.slots)
		}
	}
	if !drop {
		k, kFixed, kSlots = len(fields), fixed, len(t.slots)
	}
	t.slots = t.slots[:kSlots]

	room := limit - kFixed
	if drop {
		room -= trailer
	}
	t.c = t.fill(room)

	// Build the result. The walk repeats the one above over the kept
	// prefix, with the same budget, so walkGroup decides the same.
	t.budget = maxFootprintMembers
	outMsg, _ = t.cutText(msg, false)
	if drop {
		outFields = make([]Field, 0, k+1)
	}
	for i := range fields[:k] {
		f, changed := t.cutField(fields[i], 1)
		if changed && outFields == nil {
			outFields = make([]Field, i, k)
			copy(outFields, fields[:i])
		}
		if outFields != nil {
			outFields = append(outFields, f)
		}
	}
	cut.Bytes = t.cut
	if !drop {
		if outFields == nil {
			outFields = fields // only the message changed
		}
		return outMsg, outFields, cut
	}
	cut.Fields = len(fields) - k
	cut.Bytes += total - Footprint(msg, fields[:k])
	var b strings.Builder
	b.Grow(len(markerHead) + 20 + len(markerFields) + 20 + len(markerTail))
	b.WriteString(markerHead)
	writeInt(&b, cut.Fields)
	b.WriteString(markerFields)
	writeInt(&b, cut.Bytes)
	b.WriteString(markerTail)
	outFields = append(outFields, placeholder(TruncatedKey, b.String(), KindString))
	return outMsg, outFields, cut
}

// slot is one string value as the water-filling sees it.
type slot struct {
	n     int  // its length
	whole bool // JSON (KindAny): replaced whole by its marker, never cut
}

func newSlot(s string, whole bool) slot { return slot{n: len(s), whole: whole} }

// cost returns the most bytes the value takes under cap c: the bytes kept
// plus the marker counting those removed. The cut is made only when that
// is shorter than the value, which keeps cost non-decreasing in c. A cut
// at a rune boundary r < c keeps c-r fewer bytes and lengthens the count
// by at most as many digits, so c bounds it.
func (s slot) cost(c int) int {
	switch {
	case s.n <= c:
		return s.n
	case s.whole:
		return min(markerLen(s.n), s.n)
	default:
		return min(c+markerLen(s.n-c), s.n)
	}
}

// truncator holds the state of one Truncate call.
type truncator struct {
	budget  int    // group members still to walk (see walkGroup)
	collect bool   // measure appends to slots
	slots   []slot // the message, then the string values of the kept fields, in walk order
	c       int    // the cap chosen
	cut     int    // bytes removed from string values so far
}

// measure returns the bytes of f that Truncate never shrinks (keys and
// member slices) and the least its string values can be cut to.
func (t *truncator) measure(f *Field, depth int) (fixed, least int) {
	fixed = len(f.Key)
	if depth == 1 {
		fixed += fieldSize // a top-level field's own bytes; members are counted with their group
	}
	if f.textLen() > 0 {
		s := newSlot(f.text(), f.kind == KindAny)
		least = s.cost(0)
		if t.collect {
			t.slots = append(t.slots, s)
		}
	}
	if f.kind == KindGroup {
		members := f.Group()
		fixed += len(members) * fieldSize
		if walkGroup(members, depth, &t.budget) {
			for i := range members {
				fx, l := t.measure(&members[i], depth+1)
				fixed += fx
				least += l
			}
		}
	}
	return fixed, least
}

// fill returns the largest cap under which the collected values take at
// most room bytes, or 0 when none does. The total cost is non-decreasing
// in the cap, so a binary search finds it: O(len(slots) × log(longest)).
func (t *truncator) fill(room int) int {
	hi := 0
	for _, s := range t.slots {
		hi = max(hi, s.n)
	}
	lo := 0
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if t.fits(mid, room) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

func (t *truncator) fits(c, room int) bool {
	sum := 0
	for _, s := range t.slots {
		if sum += s.cost(c); sum > room {
			return false
		}
	}
	return true
}

// cutText applies the cap to one value, as slot.cost says, and reports
// whether it changed. The result is a new string, so it does not keep the
// original's memory alive.
func (t *truncator) cutText(s string, whole bool) (string, bool) {
	sl := newSlot(s, whole)
	if sl.cost(t.c) >= sl.n {
		return s, false
	}
	keep := 0
	if !whole {
		keep = cutPoint(s, t.c)
	}
	removed := len(s) - keep
	t.cut += removed
	var b strings.Builder
	b.Grow(keep + markerLen(removed))
	b.WriteString(s[:keep])
	b.WriteString(markerHead)
	writeInt(&b, removed)
	b.WriteString(markerTail)
	return b.String(), true
}

// cutField applies the cap to f's value and, recursively, to its members,
// copying a group's member slice when one of them changes.
func (t *truncator) cutField(f Field, depth int) (Field, bool) {
	changed := false
	if f.textLen() > 0 {
		s, ok := t.cutText(f.text(), f.kind == KindAny)
		switch {
		case !ok:
		case f.kind == KindAny:
			f, changed = placeholder(f.Key, s, KindString), true
		default:
			f.setText(s)
			changed = true
		}
	}
	if f.kind == KindGroup {
		members := f.Group()
		if walkGroup(members, depth, &t.budget) {
			var out []Field
			for i := range members {
				m, ok := t.cutField(members[i], depth+1)
				if ok && out == nil {
					out = make([]Field, len(members))
					copy(out, members)
				}
				if ok {
					out[i] = m
				}
			}
			if out != nil {
				f.ptr, changed = unsafe.Pointer(unsafe.SliceData(out)), true
			}
		}
	}
	return f, changed
}

// cutPoint returns where to cut s, longer than c, to keep at most c bytes:
// c, or the start of a valid multi-byte sequence that byte c is inside.
// In invalid UTF-8 there is no sequence to keep whole, so it cuts at c.
func cutPoint(s string, c int) int {
	for i := c; i >= 0 && i > c-utf8.UTFMax; i-- {
		if !utf8.RuneStart(s[i]) {
			continue
		}
		if i < c {
			if _, size := utf8.DecodeRuneInString(s[i:]); size > 1 && i+size > c {
				return i
			}
		}
		return c
	}
	return c
}

// markerLen is len("…[truncated n bytes]").
func markerLen(n int) int { return len(markerHead) + digits(n) + len(markerTail) }

// digits returns the number of decimal digits of n >= 0.
func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

func writeInt(b *strings.Builder, n int) {
	var buf [20]byte
	b.Write(strconv.AppendInt(buf[:0], int64(n), 10))
}
