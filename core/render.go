package core

// Bounded rendering of Any's "other" values.
//
// json.Marshal recurses once per level of its input and only starts
// checking for cycles 1000 pointers deep, so a very deep value overflows
// the stack inside it, and formatting a cyclic value with fmt never ends;
// a stack overflow is fatal, not a recoverable panic. renderAny therefore
// first walks the value the way encoding/json will (same fields, same
// marshalers, same addressability), under a depth and a size budget and
// with a cycle check on the current path, and only calls json.Marshal on a
// value that passed. Anything else becomes a placeholder: a KindString
// field whose text starts with '!' and whose Placeholder method reports
// true. Formats (T is a reflect.Type's String):
//
//	!CYCLE(T)        T: the pointer, map or slice met again on its own path
//	!DEPTH>32(T)     T: the first value nested deeper than MaxRenderDepth
//	!TOOBIG>10000(T) T: the whole value, since size is a property of it all
//	!ERROR: msg      json.Marshal (or MarshalText) failed with msg
//	!PANIC: msg      a method run while rendering panicked with msg
//
// fmt is never applied to the value (the old "%+v" fallback is gone), as
// it has no bound of its own.

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unsafe"
)

const (
	// MaxRenderDepth is how deeply nested a value Any renders. Each map,
	// slice, array, struct and non-nil pointer the value passes through
	// counts one level; interfaces do not (an interface never holds an
	// interface directly, so they cannot nest without one of the others).
	MaxRenderDepth = 32
	// MaxRenderNodes is how many JSON values Any renders in one field: the
	// value itself plus every element, map entry and struct field inside it.
	MaxRenderNodes = 10000
)

var (
	depthPrefix = "!DEPTH>" + strconv.Itoa(MaxRenderDepth) + "("
	sizePrefix  = "!TOOBIG>" + strconv.Itoa(MaxRenderNodes) + "("
)

// flagPlaceholder marks a Field whose text stands in for a value that could
// not be rendered. It lives in Field.flags, a byte of what was padding.
const flagPlaceholder uint8 = 1

// placeholders counts placeholder fields made by this process.
var placeholders atomic.Uint64

// Placeholders returns how many placeholder fields (see Field.Placeholder)
// this process has made since it started, across all loggers and engines.
func Placeholders() uint64 { return placeholders.Load() }

func placeholder(key, text string, kind Kind) Field {
	placeholders.Add(1)
	f := textField(key, text, kind)
	f.flags = flagPlaceholder
	return f
}

func renderAny(key string, v any) (f Field) {
	defer func() {
		if r := recover(); r != nil {
			f = placeholder(key, "!PANIC: "+panicText(r), KindString)
		}
	}()
	if s := checkRender(v); s != "" {
		return placeholder(key, s, KindString)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return placeholder(key, "!ERROR: "+err.Error(), KindString)
	}
	return textField(key, string(b), KindAny)
}

// checkRender walks v as json.Marshal would and returns "" when it is
// safe to marshal, or the placeholder text that replaces it.
func checkRender(v any) string {
	var w walker
	w.nodes = MaxRenderNodes - 1 // v itself
	// A value held in an interface is not addressable, as in json.Marshal.
	if w.walk(reflect.ValueOf(v), 0, false) {
		return ""
	}
	switch w.fail {
	case failCycle:
		return "!CYCLE(" + w.at.String() + ")"
	case failDepth:
		return depthPrefix + w.at.String() + ")"
	default:
		return sizePrefix + reflect.TypeOf(v).String() + ")"
	}
}

type failure uint8

const (
	failSize failure = iota
	failCycle
	failDepth
)

// pathEntry identifies a pointer, map or slice on the current path. As in
// encoding/json, a slice is its data pointer and length, and the type
// keeps a pointer to a struct apart from a pointer to its first field.
type pathEntry struct {
	t reflect.Type
	p unsafe.Pointer
	n int
}

// walker holds one walk's budget and path. The path needs no map: only
// pointers, maps and slices are on it and each costs a level, so it never
// holds more than MaxRenderDepth entries.
type walker struct {
	nodes int // JSON values still allowed
	np    int
	path  [MaxRenderDepth]pathEntry
	fail  failure
	at    reflect.Type
}

func (w *walker) stop(f failure, t reflect.Type) bool {
	w.fail, w.at = f, t
	return false
}

// charge takes n values from the budget.
func (w *walker) charge(n int) bool {
	if n > w.nodes {
		return w.stop(failSize, nil)
	}
	w.nodes -= n
	return true
}

// push puts a pointer, map or slice on the path, failing if it is there
// already. The caller pops it (w.np--) when done with its contents.
func (w *walker) push(t reflect.Type, p unsafe.Pointer, n int) bool {
	for _, e := range w.path[:w.np] {
		if e.p == p && e.n == n && e.t == t {
			return w.stop(failCycle, t)
		}
	}
	w.path[w.np] = pathEntry{t, p, n}
	w.np++
	return true
}

// walk visits v, already paid for, and everything json.Marshal would
// encode inside it. depth is the number of levels above v; addr says
// whether json would see v as addressable, and so call a marshaler with a
// pointer receiver on it. It returns false when the value must not be
// marshaled; w.fail says why.
func (w *walker) walk(v reflect.Value, depth int, addr bool) bool {
	var ti *typeInfo
	for {
		switch v.Kind() {
		case reflect.Array, reflect.Interface, reflect.Map, reflect.Pointer, reflect.Slice, reflect.Struct:
		default:
			// Basic kinds, and chan, func, complex, unsafe.Pointer (which
			// json rejects): written, or refused, without recursion.
			return true
		}
		ti = infoOf(v.Type())
		if ti.leaf || addr && ti.addrLeaf {
			return true // json calls its MarshalJSON or MarshalText
		}
		if v.Kind() != reflect.Interface {
			break
		}
		if v.IsNil() {
			return true
		}
		v, addr = v.Elem(), false // never an interface again
	}
	t := v.Type()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return true
		}
		if depth++; depth > MaxRenderDepth {
			return w.stop(failDepth, t)
		}
		if !w.push(t, v.UnsafePointer(), 0) {
			return false
		}
		ok := w.walk(v.Elem(), depth, true)
		w.np--
		return ok

	case reflect.Map:
		if v.IsNil() {
			return true
		}
		if depth++; depth > MaxRenderDepth {
			return w.stop(failDepth, t)
		}
		n := v.Len()
		if !w.charge(n) {
			return false
		}
		if n == 0 || w.flatElems(t.Elem(), n, depth, false) {
			return true
		}
		if !w.push(t, v.UnsafePointer(), 0) {
			return false
		}
		var it reflect.MapIter
		it.Reset(v)
		// One reusable element instead of a copy per entry; SetIterValue
		// refuses maps reached through unexported fields.
		var ev reflect.Value
		reuse := v.CanInterface()
		if reuse {
			ev = reflect.New(t.Elem()).Elem()
		}
		for it.Next() {
			e := ev
			if reuse {
				e.SetIterValue(&it)
			} else {
				e = it.Value()
			}
			if !w.walk(e, depth, false) { // map values are not addressable
				return false
			}
		}
		w.np--
		return true

	case reflect.Slice:
		if v.IsNil() || ti.bytes {
			return true // null, or base64 text
		}
		if depth++; depth > MaxRenderDepth {
			return w.stop(failDepth, t)
		}
		n := v.Len()
		if !w.charge(n) {
			return false
		}
		if n == 0 || w.flatElems(t.Elem(), n, depth, true) {
			return true
		}
		if !w.push(t, v.UnsafePointer(), n) {
			return false
		}
		for i := range n {
			if !w.walk(v.Index(i), depth, true) {
				return false
			}
		}
		w.np--
		return true

	case reflect.Array:
		if depth++; depth > MaxRenderDepth {
			return w.stop(failDepth, t)
		}
		n := v.Len()
		if !w.charge(n) {
			return false
		}
		if n == 0 || w.flatElems(t.Elem(), n, depth, addr) {
			return true
		}
		for i := range n {
			if !w.walk(v.Index(i), depth, addr) {
				return false
			}
		}
		return true

	default: // reflect.Struct
		if depth++; depth > MaxRenderDepth {
			return w.stop(failDepth, t)
		}
		if !w.charge(len(ti.fields)) {
			return false
		}
	fields:
		for _, index := range ti.fields {
			// Follow the index as json does: through embedded structs and
			// non-nil embedded pointers. These hops are bounded by the
			// number of distinct embedded types, so they cost no level.
			fv, fa := v, addr
			for _, i := range index {
				if fv.Kind() == reflect.Pointer {
					if fv.IsNil() {
						continue fields
					}
					fv, fa = fv.Elem(), true
				}
				fv = fv.Field(i)
			}
			if !w.walk(fv, depth, fa) {
				return false
			}
		}
		return true
	}
}

// flatElems charges n elements of type et at once when their cost is
// static, so that a []int or map[string]string is not walked element by
// element. It reports whether it did.
func (w *walker) flatElems(et reflect.Type, n, depth int, addr bool) bool {
	switch et.Kind() {
	case reflect.Array, reflect.Interface, reflect.Map, reflect.Pointer, reflect.Slice, reflect.Struct:
	default:
		return true
	}
	ei := infoOf(et)
	if ei.leaf || addr && ei.addrLeaf {
		return true
	}
	if !ei.flat || depth+ei.depth > MaxRenderDepth || ei.nodes > w.nodes/n {
		return false // walk it, to fail at the exact place
	}
	w.nodes -= n * ei.nodes
	return true
}

// typeInfo is what the walk needs to know about a type, computed once.
type typeInfo struct {
	leaf     bool    // json calls its MarshalJSON or MarshalText
	addrLeaf bool    // so does it when the value is addressable (pointer receiver)
	bytes    bool    // a slice json writes as base64 text
	flat     bool    // nothing inside can vary: no pointer, map, slice, interface or marshaler
	nodes    int     // flat: JSON values inside it (capped at MaxRenderNodes+1)
	depth    int     // flat: levels it takes, itself included
	fields   [][]int // struct: the index of every field json may encode
}

var typeInfos sync.Map // reflect.Type -> *typeInfo; types are finite

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti, _ := typeInfos.LoadOrStore(t, newTypeInfo(t))
	return ti.(*typeInfo)
}

// newTypeInfo mirrors encoding/json's newTypeEncoder. It recurses only into
// array elements and struct fields held by value, which cannot loop.
func newTypeInfo(t reflect.Type) *typeInfo {
	ti := &typeInfo{leaf: marshals(t)}
	if t.Kind() != reflect.Pointer && !ti.leaf {
		ti.addrLeaf = marshals(reflect.PointerTo(t))
	}
	plain := !ti.leaf && !ti.addrLeaf
	switch t.Kind() {
	case reflect.Interface, reflect.Map, reflect.Pointer:
	case reflect.Slice:
		ti.bytes = t.Elem().Kind() == reflect.Uint8 && !marshals(reflect.PointerTo(t.Elem()))
	case reflect.Array:
		ei := infoOf(t.Elem())
		if plain && ei.flat {
			ti.flat, ti.depth = true, 1+ei.depth
			ti.nodes = capNodes(t.Len(), 1+ei.nodes)
		}
	case reflect.Struct:
		var viaPointer bool
		ti.fields, viaPointer = jsonFields(t)
		ti.flat, ti.depth = plain && !viaPointer, 1
		for _, index := range ti.fields {
			fi := infoOf(fieldType(t, index))
			if !fi.flat {
				ti.flat = false
				break
			}
			ti.nodes = capNodes(1, ti.nodes+1+fi.nodes)
			ti.depth = max(ti.depth, 1+fi.depth)
		}
	default:
		ti.flat = plain
	}
	return ti
}

func marshals(t reflect.Type) bool {
	return t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType)
}

// capNodes returns n*each, capped at MaxRenderNodes+1 (already too big).
func capNodes(n, each int) int {
	const limit = MaxRenderNodes + 1
	if each > 0 && n > limit/each {
		return limit
	}
	return min(n*each, limit)
}

func fieldType(t reflect.Type, index []int) reflect.Type {
	for _, i := range index {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		t = t.Field(i).Type
	}
	return t
}

// jsonFields lists the fields encoding/json may encode in a struct of type
// t, as index paths, with its rules (typeFields in encode.go): unexported
// fields and `json:"-"` are skipped, and untagged embedded structs are
// searched breadth first, each type once. It keeps the fields json would
// drop as duplicates: walking more than json is safe, walking less is not.
// viaPointer reports a path through an embedded pointer.
func jsonFields(t reflect.Type) (fields [][]int, viaPointer bool) {
	type embedded struct {
		t     reflect.Type
		index []int
	}
	next := []embedded{{t: t}}
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		for _, e := range current {
			if visited[e.t] {
				continue
			}
			visited[e.t] = true
			for i := range e.t.NumField() {
				sf := e.t.Field(i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous {
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				index := append(append(make([]int, 0, len(e.index)+1), e.index...), i)
				name, _, _ := strings.Cut(tag, ",")
				if sf.Anonymous && ft.Kind() == reflect.Struct && !validTag(name) {
					if sf.Type.Kind() == reflect.Pointer {
						viaPointer = true
					}
					next = append(next, embedded{ft, index})
					continue
				}
				fields = append(fields, index)
			}
		}
	}
	return fields, viaPointer
}

// validTag is encoding/json's isValidTag: an embedded struct with a valid
// name in its tag is a named field, not searched for promoted fields.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// panicText renders a recovered panic value without fmt, which could
// recurse without end on a cyclic one. Error and String methods run under
// their own recover, so a method that panics again cannot loop.
func panicText(r any) string {
	switch p := r.(type) {
	case string:
		return p
	case error:
		return callText(p.Error, r)
	case fmt.Stringer:
		return callText(p.String, r)
	}
	v := reflect.ValueOf(r)
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32:
		return strconv.FormatFloat(v.Float(), 'g', -1, 32)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.String:
		return v.String()
	}
	return typeText(r)
}

func callText(m func() string, r any) (s string) {
	defer func() {
		if recover() != nil {
			s = typeText(r)
		}
	}()
	return m()
}

// typeText names a panic value that is not shown: "(T)".
func typeText(r any) string { return "(" + reflect.TypeOf(r).String() + ")" }
