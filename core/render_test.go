package core_test

import (
	"encoding/json"
	"errors"
	"math"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
)

// Before render.go, Any on any of the cyclic or deep values below killed
// the test binary with "fatal error: stack overflow" (json.Marshal's cycle
// error followed by an endless %+v, or json.Marshal recursing 10 million
// levels). Which check each test pins down, by deleting it from render.go:
//   - the w.push cycle check in the Pointer case: TestAnyCyclicValuesAreCyclePlaceholders
//     "pointer cycle through a struct" gets !DEPTH>32(*core_test.node) instead of !CYCLE;
//   - the depth check in the Struct case: TestAnyTooDeepValuesAreDepthPlaceholders
//     "structs nested by value 40 deep" renders as JSON;
//   - w.charge(n) in the Map case: TestAnyTooBigValuesAreSizePlaceholders
//     "map with a million entries" renders 1e6 entries as JSON;
//   - w.np-- after the Slice loop: TestAnyWithinTheLimitsRendersAsJSONMarshal
//     "one slice twice" becomes !CYCLE([]interface {});
//   - "|| addr && ti.addrLeaf" in walk (pointer-receiver marshalers ignored):
//     TestAnyWithinTheLimitsRendersAsJSONMarshal "pointer-receiver marshaler in
//     a field behind a pointer hides its cycle" becomes !CYCLE; dropping just
//     "addr &&" (always treating them as leaves) turns TestAnyCyclicValuesAreCyclePlaceholders
//     "pointer-receiver marshaler in a map value is walked" into json's own
//     cycle error (flatElems' copy of the check is a shortcut only);
//   - the `json:"-"` or unexported-field rule in jsonFields: "cycle in a json:\"-\"
//     field" or "cycle in an unexported field" there becomes !CYCLE.

type node struct {
	Name string
	Next *node
}

type box struct{ V any }

type pairA struct{ B *pairB }
type pairB struct{ A *pairA }

type selfPtr *selfPtr

// valueOpaque marshals itself, so json never looks at Self.
type valueOpaque struct{ Self *valueOpaque }

func (valueOpaque) MarshalJSON() ([]byte, error) { return []byte(`"opaque"`), nil }

// ptrOpaque marshals itself only where json can take its address (in a
// slice, behind a pointer); in a map value json encodes M instead.
type ptrOpaque struct{ M map[string]any }

func (*ptrOpaque) MarshalJSON() ([]byte, error) { return []byte(`"opaque"`), nil }

type withPrivate struct {
	A    int
	self *withPrivate
}

type withSkipped struct {
	A    int
	Self *withSkipped `json:"-"`
}

// embedsSelf's embedded *embedsSelf is searched for promoted fields only
// once, so json writes {"X":...} and never follows the pointer.
type embedsSelf struct {
	*embedsSelf
	X int
}

type fork struct{ L, R *fork }

type Inner struct {
	Y int
	M map[string]any
}

// embedsPointer's embedded *Inner promotes Y and M, skipped when nil.
type embedsPointer struct {
	*Inner
	X int
}

type inner struct{ M map[string]any }

// embedsUnexported's embedded inner is unexported, but its M is promoted.
type embedsUnexported struct{ inner }

type namedEmbed struct {
	Inner `json:"in"`
}

type twoInts struct{ A, B int }

type intPanic struct{}

func (intPanic) MarshalJSON() ([]byte, error) { panic(42) }

type stringerPanic struct{}

func (stringerPanic) MarshalJSON() ([]byte, error) { panic(&stringer{"told"}) }

type panicMarshaler struct{}

func (panicMarshaler) MarshalJSON() ([]byte, error) { panic("marshal boom") }

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("no") }

type panicText struct{}

func (panicText) MarshalText() ([]byte, error) { panic("text boom") }

type failingText struct{}

func (failingText) MarshalText() ([]byte, error) { return nil, errors.New("no text") }

// cyclicPanic panics with a value that contains itself.
type cyclicPanic struct{}

func (cyclicPanic) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	m["self"] = m
	panic(m)
}

// panicError panics with an error whose Error method panics too.
type panicError struct{}

func (panicError) Error() string { panic(panicError{}) }

type panicsWithPanicError struct{}

func (panicsWithPanicError) MarshalJSON() ([]byte, error) { panic(panicError{}) }

// requirePlaceholder asserts that Any renders v as exactly the placeholder
// want, flagged, KindString, and counted once.
func requirePlaceholder(t *testing.T, v any, want string) {
	t.Helper()
	before := core.Placeholders()
	f := core.Any("k", v)
	require.Equal(t, want, f.Str())
	require.Equal(t, "k", f.Key)
	require.Equal(t, core.KindString, f.Kind())
	require.True(t, f.Placeholder())
	require.Equal(t, before+1, core.Placeholders(), "counted once")
}

// nestedSlices returns []any{[]any{...}} with n slices in all.
func nestedSlices(n int) any {
	var v any = []any{}
	for range n - 1 {
		v = []any{v}
	}
	return v
}

// linkedList returns the head of n linked nodes, allocated at once.
func linkedList(n int) *node {
	nodes := make([]node, n)
	for i := range n - 1 {
		nodes[i].Next = &nodes[i+1]
	}
	return &nodes[0]
}

func TestAnyCyclicValuesAreCyclePlaceholders(t *testing.T) {
	selfMap := map[string]any{}
	selfMap["self"] = selfMap

	selfSlice := []any{nil}
	selfSlice[0] = selfSlice

	selfNode := &node{Name: "n"}
	selfNode.Next = selfNode

	selfBox := &box{}
	selfBox.V = selfBox

	a := &pairA{B: &pairB{}}
	a.B.A = a

	var p selfPtr
	p = &p

	var iface any
	iface = &iface

	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"map containing itself", selfMap, "!CYCLE(map[string]interface {})"},
		{"slice containing itself", selfSlice, "!CYCLE([]interface {})"},
		{"pointer cycle through a struct", selfNode, "!CYCLE(*core_test.node)"},
		{"cycle through an interface field", selfBox, "!CYCLE(*core_test.box)"},
		{"cycle two levels deep", a, "!CYCLE(*core_test.pairA)"},
		{"cycle below a plain value", struct{ Meta map[string]any }{selfMap}, "!CYCLE(map[string]interface {})"},
		{"pointer to itself", p, "!CYCLE(core_test.selfPtr)"},
		{"interface pointing to itself", &iface, "!CYCLE(*interface {})"},
		{"pointer-receiver marshaler in a map value is walked", map[string]ptrOpaque{"a": {M: selfMap}}, "!CYCLE(map[string]interface {})"},
		{"cycle in a field promoted through an embedded pointer", embedsPointer{Inner: &Inner{M: selfMap}}, "!CYCLE(map[string]interface {})"},
		{"cycle in a field promoted from an unexported embedded struct", embedsUnexported{inner{M: selfMap}}, "!CYCLE(map[string]interface {})"},
	} {
		t.Run(c.name, func(t *testing.T) { requirePlaceholder(t, c.v, c.want) })
	}
}

func TestAnyTooDeepValuesAreDepthPlaceholders(t *testing.T) {
	deepMap := map[string]any{}
	for range 40 {
		deepMap = map[string]any{"m": deepMap}
	}
	var chain selfPtr
	for range 100 {
		next := new(selfPtr)
		*next = chain
		chain = next
	}
	for _, c := range []struct {
		name string
		v    func() any
		want string
	}{
		// Levels alternate pointer, struct; level 33 is a pointer.
		{"10 million node linked list", func() any { return linkedList(10_000_000) }, "!DEPTH>32(*core_test.node)"},
		{"17 node linked list", func() any { return linkedList(17) }, "!DEPTH>32(*core_test.node)"},
		{"slices nested 100 deep", func() any { return nestedSlices(100) }, "!DEPTH>32([]interface {})"},
		{"slices nested 33 deep", func() any { return nestedSlices(33) }, "!DEPTH>32([]interface {})"},
		{"maps nested 41 deep", func() any { return deepMap }, "!DEPTH>32(map[string]interface {})"},
		{"100 pointers to pointers", func() any { return chain }, "!DEPTH>32(core_test.selfPtr)"},
		{"structs nested by value 40 deep", func() any {
			var v any = box{}
			for range 39 {
				v = box{V: v}
			}
			return v
		}, "!DEPTH>32(core_test.box)"},
		{"arrays nested 33 deep", func() any {
			return [1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1][1]int{}
		}, "!DEPTH>32([1]int)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := c.v()
			start := time.Now()
			requirePlaceholder(t, v, c.want)
			require.Less(t, time.Since(start), time.Second, "the walk stops at the limit")
		})
	}
}

func TestAnyTooBigValuesAreSizePlaceholders(t *testing.T) {
	big := make(map[int]int, 1_000_000)
	for i := range 1_000_000 {
		big[i] = i
	}
	// Shared children: 2^16 paths, no cycle; json would write them all.
	var dag *fork
	for range 15 {
		dag = &fork{L: dag, R: dag}
	}
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		// The budget counts JSON values: the map itself and each entry.
		{"map with a million entries", big, "!TOOBIG>10000(map[int]int)"},
		{"slice of 10000 ints (10001 values)", make([]int, 10_000), "!TOOBIG>10000([]int)"},
		{"array of 10000 bytes in a struct", struct{ B [10_000]byte }{}, "!TOOBIG>10000(struct { B [10000]uint8 })"},
		{"shared pointers 15 levels deep", dag, "!TOOBIG>10000(*core_test.fork)"},
		{"3334 structs of two ints (10003 values)", make([]twoInts, 3334), "!TOOBIG>10000([]core_test.twoInts)"},
		{"slices of 200 slices of 50 ints", func() any {
			s := make([][]int, 200)
			for i := range s {
				s[i] = make([]int, 50)
			}
			return s
		}(), "!TOOBIG>10000([][]int)"},
	} {
		t.Run(c.name, func(t *testing.T) { requirePlaceholder(t, c.v, c.want) })
	}
}

func TestAnyWithinTheLimitsRendersAsJSONMarshal(t *testing.T) {
	shared := &node{Name: "shared"}
	sharedSlice := []any{1}

	firstField := &struct {
		X int
		P *int
	}{X: 7}
	firstField.P = &firstField.X // same address as firstField, another type

	sub := make([]any, 2)
	sub[1] = sub[:1] // same data pointer, another length: no cycle

	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	opaque := &valueOpaque{}
	opaque.Self = opaque

	private := &withPrivate{A: 1}
	private.self = private
	skipped := &withSkipped{A: 2}
	skipped.Self = skipped
	embeds := &embedsSelf{X: 3}
	embeds.embedsSelf = embeds

	bigMap := make(map[string]int, 9_999)
	for i := range 9_999 {
		bigMap[string(rune('a'+i%26))+string(rune(i))] = i
	}

	for _, c := range []struct {
		name string
		v    any
	}{
		{"slices nested 32 deep", nestedSlices(32)},
		{"16 node linked list (a nil pointer is no level)", linkedList(16)},
		{"slice of 9999 ints (10000 values)", make([]int, 9_999)},
		{"map of 9999 entries", bigMap},
		{"one pointer twice", []any{shared, shared}},
		{"one slice twice", []any{sharedSlice, sharedSlice}},
		{"pointer to a struct and to its first field", firstField},
		{"subslice inside its own backing array", sub},
		{"value marshaler hides its cycle", opaque},
		{"pointer-receiver marshaler in a slice hides its cycle", []ptrOpaque{{M: selfMap}}},
		{"pointer-receiver marshaler in a field behind a pointer hides its cycle", &struct{ P ptrOpaque }{ptrOpaque{M: selfMap}}},
		{"cycle in an unexported field", private},
		{`cycle in a json:"-" field`, skipped},
		{"cycle through an embedded pointer json does not follow", embeds},
		{"error inside a value", struct{ Err error }{errors.New("e")}},
		{"times and raw messages", map[string]any{"t": time.Unix(0, 0).UTC(), "raw": json.RawMessage(`{"a":1}`)}},
		{"bytes as base64", struct{ B []byte }{[]byte("hello")}},
		{"3333 structs of two ints (10000 values)", make([]twoInts, 3333)},
		{"fields promoted through an embedded pointer", embedsPointer{Inner: &Inner{Y: 1, M: map[string]any{"a": 1}}, X: 2}},
		{"nil embedded pointer", embedsPointer{X: 2}},
		{"field promoted from an unexported embedded struct", embedsUnexported{inner{M: map[string]any{"a": 1}}}},
		{"embedded struct with a json name", namedEmbed{Inner{Y: 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, err := json.Marshal(c.v)
			require.NoError(t, err)
			before := core.Placeholders()
			f := core.Any("k", c.v)
			require.Equal(t, core.KindAny, f.Kind())
			require.Equal(t, string(want), f.Str())
			require.False(t, f.Placeholder())
			require.Equal(t, before, core.Placeholders(), "not counted")
		})
	}
}

func TestAnyUnrenderableValuesAreErrorAndPanicPlaceholders(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"chan", make(chan int), "!ERROR: json: unsupported type: chan int"},
		{"func", func() {}, "!ERROR: json: unsupported type: func()"},
		{"complex", complex(1, 2), "!ERROR: json: unsupported type: complex128"},
		{"chan inside a struct", struct{ C chan int }{}, "!ERROR: json: unsupported type: chan int"},
		{"NaN inside a map", map[string]float64{"x": math.NaN()}, "!ERROR: json: unsupported value: NaN"},
		{"marshaler that fails", failingMarshaler{}, "!ERROR: json: error calling MarshalJSON for type core_test.failingMarshaler: no"},
		{"marshaler that panics", panicMarshaler{}, "!PANIC: marshal boom"},
		{"marshaler that panics, nested", []any{panicMarshaler{}}, "!PANIC: marshal boom"},
		{"marshaler that panics with a cyclic value", cyclicPanic{}, "!PANIC: (map[string]interface {})"},
		{"marshaler that panics with an int", intPanic{}, "!PANIC: 42"},
		{"marshaler that panics with a Stringer", stringerPanic{}, "!PANIC: told"},
		{"marshaler that panics with a panicking error", panicsWithPanicError{}, "!PANIC: (core_test.panicError)"},
		{"text marshaler that fails", failingText{}, "!ERROR: no text"},
		{"text marshaler that panics", panicText{}, "!PANIC: text boom"},
		{"nil Stringer", (*stringer)(nil), "!PANIC: runtime error: invalid memory address or nil pointer dereference"},
	} {
		t.Run(c.name, func(t *testing.T) { requirePlaceholder(t, c.v, c.want) })
	}
}

func TestNamedErrPanicIsAPlaceholderOfKindError(t *testing.T) {
	before := core.Placeholders()
	f := core.NamedErr("e", panicky{})
	require.Equal(t, core.KindError, f.Kind(), "an error field stays one")
	require.Equal(t, "!PANIC: boom", f.Str())
	require.True(t, f.Placeholder())
	require.Equal(t, before+1, core.Placeholders())

	require.False(t, core.Err(errors.New("fine")).Placeholder())
	require.False(t, core.String("s", "!CYCLE(x)").Placeholder(), "the flag, not the text, marks a placeholder")
	require.True(t, core.Any("again", f).Placeholder(), "Any keeps a Field's flag")
}

func TestFieldStays40Bytes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit platforms only")
	}
	require.Equal(t, uintptr(40), unsafe.Sizeof(core.Field{}))
}

// TestStrIsEmptyForOtherKinds: text and the other kinds share the value
// words, so Str must look at the kind. (Without that check Str of an
// Int64 field would make a string of that many bytes at a nil pointer.)
func TestStrIsEmptyForOtherKinds(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	for _, f := range []core.Field{
		core.Int64("i", 1<<40), core.Uint64("u", 7), core.Float64("f", 1.5), core.Bool("b", true),
		core.Duration("d", time.Hour), core.Time("t", time.Unix(5, 0).In(loc)),
		core.Group("g", core.Int("a", 1), core.Int("b", 2)), core.Err(nil),
	} {
		assert.Empty(t, f.Str(), "%s", f.Kind())
	}
	for _, f := range []core.Field{
		core.String("s", "text"), core.NamedErr("e", errors.New("text")), core.Bytes("y", []byte("text")),
		core.Any("a", "text"),
	} {
		assert.Equal(t, "text", f.Str(), "%s", f.Kind())
	}
	assert.Equal(t, `{"k":1}`, core.Any("a", map[string]int{"k": 1}).Str(), "KindAny's JSON text")
}

func TestAnyIsSafeForConcurrentUse(t *testing.T) {
	type fresh struct{ M map[string]any } // its type info is built by the racing goroutines
	selfMap := map[string]any{}
	selfMap["self"] = selfMap
	const goroutines, rounds = 8, 100
	before := core.Placeholders()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				if f := core.Any("c", fresh{selfMap}); f.Str() != "!CYCLE(map[string]interface {})" {
					t.Errorf("got %q", f.Str())
				}
				if f := core.Any("ok", fresh{map[string]any{"a": 1}}); f.Str() != `{"M":{"a":1}}` {
					t.Errorf("got %q", f.Str())
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, before+goroutines*rounds, core.Placeholders(), "one count per placeholder")
}
