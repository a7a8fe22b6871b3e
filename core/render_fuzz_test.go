package core_test

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/shardlog/shardlog/core"
)

// fuzzStruct has a field for every kind of link, plus two json skips.
type fuzzStruct struct {
	A      any
	Next   *fuzzStruct
	S      []any
	M      map[string]any
	P      *any
	hidden any // json skips unexported fields, and so must the walk
	Skip   any `json:"-"`
}

// fuzzPtrMarshaler marshals itself only where json can take its address.
type fuzzPtrMarshaler struct{ In any }

func (*fuzzPtrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

// fuzzBuilder runs a fuzz input as a little program that builds a value.
// Containers are shared by reference, so linking one into a later one can
// make cycles and DAGs.
type fuzzBuilder struct {
	in    []byte
	nodes []any // maps, slices, *any, *fuzzStruct
	slot  []int // next slot to fill, per node
	cur   int
}

func (b *fuzzBuilder) next() int {
	if len(b.in) == 0 {
		return 0
	}
	c := b.in[0]
	b.in = b.in[1:]
	return int(c)
}

// attach stores child into the current node.
func (b *fuzzBuilder) attach(child any) {
	i := b.slot[b.cur]
	b.slot[b.cur]++
	switch n := b.nodes[b.cur].(type) {
	case map[string]any:
		n[strconv.Itoa(i%8)] = child
	case []any:
		n[i%len(n)] = child
	case *any:
		*n = child
	case *fuzzStruct:
		switch i % 7 {
		case 0:
			n.A = child
		case 1:
			n.Next, _ = child.(*fuzzStruct)
		case 2:
			n.S, _ = child.([]any)
		case 3:
			n.M, _ = child.(map[string]any)
		case 4:
			n.P, _ = child.(*any)
		case 5:
			n.hidden = child
		default:
			n.Skip = child
		}
	}
}

func (b *fuzzBuilder) newNode(kind int) any {
	switch kind % 4 {
	case 0:
		return map[string]any{}
	case 1:
		return make([]any, 1+b.next()%4)
	case 2:
		return new(any)
	default:
		return &fuzzStruct{}
	}
}

// add makes a new node current after attaching it to the current one.
func (b *fuzzBuilder) add(n any) {
	b.attach(n)
	b.nodes = append(b.nodes, n)
	b.slot = append(b.slot, 0)
	b.cur = len(b.nodes) - 1
}

func (b *fuzzBuilder) leaf() any {
	switch b.next() % 10 {
	case 0:
		return nil
	case 1:
		return b.next()
	case 2:
		return "s" + strconv.Itoa(b.next())
	case 3:
		return math.NaN() // json refuses it
	case 4:
		return make(chan int) // json refuses it
	case 5:
		return panicMarshaler{}
	case 6:
		return valueOpaque{}
	case 7: // a marshaler by value holding an existing node
		return fuzzPtrMarshaler{In: b.nodes[b.next()%len(b.nodes)]}
	case 8: // a struct value holding existing nodes
		return fuzzStruct{A: b.nodes[b.next()%len(b.nodes)], hidden: b.nodes[b.next()%len(b.nodes)]}
	default:
		return [2]any{b.next(), b.nodes[b.next()%len(b.nodes)]}
	}
}

func buildFuzzValue(in []byte) any {
	b := &fuzzBuilder{in: in}
	b.nodes = []any{b.newNode(b.next())}
	b.slot = []int{0}
	for len(b.in) > 0 {
		switch op := b.next(); op % 8 {
		case 0, 1, 2, 3: // a new container inside the current one
			b.add(b.newNode(op / 8))
		case 4: // link an existing node: a cycle when it is an ancestor
			b.attach(b.nodes[b.next()%len(b.nodes)])
		case 5:
			b.attach(b.leaf())
		case 6: // move to an existing node
			b.cur = b.next() % len(b.nodes)
		case 7: // a chain of up to 2040 new containers, for depth
			for range 8 * b.next() {
				b.add(b.newNode(op / 8))
			}
		}
	}
	return b.nodes[0]
}

var placeholderText = regexp.MustCompile(`^!(CYCLE\(.+\)|DEPTH>32\(.+\)|TOOBIG>10000\(.+\)|ERROR: .+|PANIC: .+)$`)

// FuzzAnyNested checks that Any never crashes on cyclic or deeply nested
// values and returns either json.Marshal's own text or a placeholder.
func FuzzAnyNested(f *testing.F) {
	for _, seed := range [][]byte{
		{0},                   // an empty map
		{0, 4, 0},             // a map containing itself
		{1, 3, 4, 0},          // a slice containing itself
		{3, 4, 0},             // a struct whose field A points back to it
		{3, 4, 0, 4, 0},       // ... and whose Next does too
		{0, 16, 4, 0},         // a map holding a *any that points to the map
		{0, 23, 200},          // a chain of 1600 *any
		{0, 15, 5},            // 40 nested slices
		{0, 5, 3, 4, 0},       // a NaN beside a cycle
		{1, 1, 5, 6, 5, 1, 7}, // a value marshaler and an int: JSON
		{1, 3, 5, 7, 0},       // a pointer-receiver marshaler in an interface is walked
		{0, 5, 5},             // a marshaler that panics
		{3, 5, 0, 5, 0, 5, 0, 5, 0, 5, 0, 4, 0, 4, 0}, // cycles only where json does not look: JSON
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v := buildFuzzValue(in)
		before := core.Placeholders()
		start := time.Now()
		fld := core.Any("k", v)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Any took %v", d)
		}
		counted := core.Placeholders() - before
		if fld.Placeholder() {
			if fld.Kind() != core.KindString || !placeholderText.MatchString(fld.Str()) || counted != 1 {
				t.Fatalf("bad placeholder: kind %v, %q, counted %d", fld.Kind(), fld.Str(), counted)
			}
			return
		}
		if fld.Kind() != core.KindAny || !json.Valid([]byte(fld.Str())) || counted != 0 {
			t.Fatalf("bad JSON field: kind %v, counted %d, %q", fld.Kind(), counted, fld.Str())
		}
		// Leaves are short, so the text is bounded by the node budget.
		if len(fld.Str()) > 64*core.MaxRenderNodes {
			t.Fatalf("%d bytes", len(fld.Str()))
		}
		// It passed the walk, so json.Marshal is safe and must agree.
		want, err := json.Marshal(v)
		if err != nil || string(want) != fld.Str() {
			t.Fatalf("json.Marshal: %v, %q; Any: %q", err, want, fld.Str())
		}
	})
}
