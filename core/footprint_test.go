package core

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func marker(n int) string { return "…[truncated " + strconv.Itoa(n) + " bytes]" }

func fieldsMarker(k, n int) string {
	return "…[truncated " + strconv.Itoa(k) + " fields, " + strconv.Itoa(n) + " bytes]"
}

// nest wraps f in depth groups with key "g".
func nest(f Field, depth int) Field {
	for range depth {
		f = Group("g", f)
	}
	return f
}

// sharesMemory reports whether a's bytes lie inside b's.
func sharesMemory(a, b string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(unsafe.StringData(a))), uintptr(unsafe.Pointer(unsafe.StringData(b)))
	return pa >= pb && pa < pb+uintptr(len(b))
}

// walkStrings calls fn with every key and string value in fields and,
// once per member slice however often it is shared, in their groups.
func walkStrings(fields []Field, fn func(string)) {
	walkFields(fields, map[*Field]bool{}, func(f Field) {
		fn(f.Key)
		fn(f.text())
	})
}

// walkFields calls fn with every field and group member, visiting each
// member slice once.
func walkFields(fields []Field, seen map[*Field]bool, fn func(Field)) {
	for _, f := range fields {
		fn(f)
		if m := f.Group(); len(m) > 0 && !seen[&m[0]] {
			seen[&m[0]] = true
			walkFields(m, seen, fn)
		}
	}
}

func TestFootprint(t *testing.T) {
	const fs = int(unsafe.Sizeof(Field{}))
	deep := nest(String("leaf", "v"), 100)
	cases := []struct {
		name   string
		msg    string
		fields []Field
		want   int
	}{
		{"nothing", "", nil, 0},
		{"message only", "hello", nil, 5},
		{"numbers count their keys only", "m", []Field{Int("n", 1), Float64("f", 1), Bool("b", true), Duration("d", time.Second), Time("t", time.Unix(1, 0))}, 1 + 5},
		{"strings", "", []Field{String("key", "value"), Bytes("b", []byte("xyz")), NamedErr("e", errors.New("boom"))}, 3 + 5 + 1 + 3 + 1 + 4},
		{"any counts its JSON text", "", []Field{Any("a", []int{1, 2})}, 1 + len("[1,2]")},
		{"empty field", "", []Field{Err(nil)}, len(ErrorKey)},
		{"group", "", []Field{Group("g", String("a", "xy"), Int("b", 1))}, 1 + 2*fs + 1 + 2 + 1},
		{"nested groups", "", []Field{Group("g", Group("h", String("a", "xy")))}, 1 + fs + 1 + fs + 1 + 2},
		{"empty group", "", []Field{Group("g")}, 1},
		// 64 levels are walked; the 65th group counts its one member's
		// slot only.
		{"groups deeper than 64", "", []Field{deep}, 1 + 64*(1+fs) + fs},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Every top-level field also counts its own bytes.
			assert.Equal(t, c.want+len(c.fields)*fieldSize, Footprint(c.msg, c.fields))
		})
	}
}

func TestFootprintDoesNotAllocate(t *testing.T) {
	fields := []Field{String("a", "b"), Int("n", 1), Group("g", String("c", "d"))}
	allocs := testing.AllocsPerRun(100, func() { _ = Footprint("msg", fields) })
	assert.Zero(t, allocs)
}

func TestEventFootprint(t *testing.T) {
	var e Event
	e.Message = "hello"
	e.Scope = (*Scope)(nil).With([]Field{String("scope", strings.Repeat("x", 1000))})
	e.Logger = "a.b.c"
	e.AddField(String("k", "v"))
	assert.Equal(t, 5+2, e.Footprint(), "inline fields: no spill, Scope and Logger not counted")

	for i := range InlineFields {
		e.AddField(Int("i"+strconv.Itoa(i), i))
	}
	require.NotNil(t, e.extra)
	want := Footprint(e.Message, e.Fields()) + (cap(e.extra)-len(e.extra))*fieldSize
	assert.Equal(t, want, e.Footprint(), "spill counted at its capacity")
	assert.Equal(t, 5+2+InlineFields*2+2*InlineFields*fieldSize, e.Footprint(), "the spilled slice at its capacity")
}

func TestTruncateUnderTheLimitReturnsItsArguments(t *testing.T) {
	fields := []Field{String("a", "b"), Group("g", String("c", "d"))}
	limit := Footprint("msg", fields)
	msg, out, cut := Truncate("msg", fields, limit)
	assert.Equal(t, "msg", msg)
	require.Len(t, out, len(fields))
	assert.Same(t, &fields[0], &out[0])
	assert.Zero(t, cut)
	allocs := testing.AllocsPerRun(100, func() { _, _, _ = Truncate("msg", fields, limit) })
	assert.Zero(t, allocs)
}

func TestTruncateHugeMessage(t *testing.T) {
	big := strings.Repeat("a", 100<<20)
	const limit = 1000
	msg, out, cut := Truncate(big, nil, limit)
	assert.Nil(t, out)
	// The marker is 30 bytes (a 9-digit count), so 970 bytes are kept.
	assert.Equal(t, strings.Repeat("a", 970)+"…[truncated 104856630 bytes]", msg)
	assert.Equal(t, limit, len(msg))
	assert.Equal(t, Truncation{Bytes: 100<<20 - 970}, cut)
	assert.False(t, sharesMemory(msg, big), "the kept prefix is a copy")
}

func TestTruncateWaterFilling(t *testing.T) {
	big := strings.Repeat("z", 1<<20)
	fields := []Field{String("a", strings.Repeat("x", 10)), String("b", strings.Repeat("y", 200)), String("big", big), Int("n", 7)}
	const limit = 2000
	msg, out, cut := Truncate("message", fields, limit)
	require.Len(t, out, 4)
	assert.Equal(t, "message", msg)
	assert.Equal(t, fields[0], out[0], "small values stay whole")
	assert.Equal(t, fields[1], out[1])
	assert.Equal(t, fields[3], out[3])
	assert.Equal(t, "big", out[2].Key)
	assert.Equal(t, KindString, out[2].Kind())
	assert.False(t, out[2].Placeholder())
	fixed := len("message") + 1 + 10 + 1 + 200 + len("big") + len("n") + 4*fieldSize
	keep := limit - fixed - len(marker(1<<20)) // the marker's count has the same 7 digits
	assert.Equal(t, big[:keep]+marker(1<<20-keep), out[2].Str())
	assert.Equal(t, limit, Footprint(msg, out))
	assert.Equal(t, Truncation{Bytes: 1<<20 - keep}, cut)
	assert.False(t, sharesMemory(out[2].Str(), big))
	assert.Equal(t, big, fields[2].Str(), "the caller's field is unchanged")
}

func TestTruncateCutsEveryLargeValueToTheSameCap(t *testing.T) {
	fields := []Field{
		String("a", strings.Repeat("a", 5000)),
		NamedErr("e", errors.New(strings.Repeat("e", 8000))),
		Bytes("b", []byte(strings.Repeat("b", 3000))),
		String("s", "small"),
	}
	msg, out, cut := Truncate(strings.Repeat("m", 9000), fields, 1000)
	require.Len(t, out, 4)
	assert.LessOrEqual(t, Footprint(msg, out), 1000+2*fieldSize)
	kept := func(s string) int { return strings.Index(s, "…[truncated ") }
	c := kept(msg)
	assert.Positive(t, c)
	for _, f := range out[:3] {
		assert.Equal(t, c, kept(f.Str()), "%s cut to the common cap", f.Key)
	}
	assert.Equal(t, KindError, out[1].Kind(), "an error stays an error")
	assert.Equal(t, KindBytes, out[2].Kind())
	assert.Equal(t, fields[3], out[3])
	assert.Equal(t, 9000+5000+8000+3000-4*c, cut.Bytes)
	assert.Zero(t, cut.Fields)
}

func TestTruncateKeepsRunesWhole(t *testing.T) {
	for _, r := range []string{"é", "€", "😀"} {
		t.Run(r, func(t *testing.T) {
			s := strings.Repeat(r, 1000)
			for limit := 40; limit < 60; limit++ {
				msg, _, _ := Truncate(s, nil, limit)
				require.True(t, utf8.ValidString(msg), "limit %d: %q", limit, msg)
				require.LessOrEqual(t, len(msg), limit)
				head, _, _ := strings.Cut(msg, "…[truncated ")
				require.Equal(t, 0, len(head)%len(r))
				require.Equal(t, marker(len(s)-len(head)), msg[len(head):])
			}
		})
	}
}

func TestCutPoint(t *testing.T) {
	cases := []struct {
		s    string
		c    int
		want int
	}{
		{"abcdef", 3, 3},
		{"ab€cd", 2, 2},              // before the rune
		{"ab€cd", 3, 2},              // inside it: back to its start
		{"ab€cd", 4, 2},              // at its last byte
		{"ab€cd", 5, 5},              // after it
		{"a😀b", 4, 1},                // 4-byte rune, 3 bytes in
		{"\xff\xff\xff\xff", 2, 2},   // invalid: cut at c
		{"a\xe2\x82b", 2, 2},         // truncated sequence: nothing to keep whole
		{"a\x80\x80\x80\x80b", 4, 4}, // only continuation bytes
		{"é\x80x", 2, 2},             // a stray continuation after a whole rune
		{"\uFFFDx", 2, 0},            // a valid U+FFFD is a rune like any other
		{"€", 0, 0},
		{"€", 1, 0},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, cutPoint(c.s, c.c), "%q at %d", c.s, c.c)
	}
}

func TestTruncateInvalidUTF8(t *testing.T) {
	inputs := []string{
		strings.Repeat("\xff", 1000),
		strings.Repeat("\x80", 1000),
		strings.Repeat("a\xe2\x82", 400), // "€" without its last byte
		strings.Repeat("\xf0\x9f\x98", 400),
	}
	for _, s := range inputs {
		for limit := -1; limit < 60; limit++ {
			msg, out, _ := Truncate(s, []Field{String(s[:3], s)}, limit)
			assert.LessOrEqual(t, Footprint(msg, out), max(limit, 0)+TruncationSlack)
		}
		// No valid sequence spans the cap (100 less the marker), so the
		// cut falls there.
		msg, _, _ := Truncate(s, nil, 100)
		keep := strings.Index(msg, "…[truncated ")
		assert.Equal(t, 100-len(marker(len(s)-keep)), keep)
		assert.Equal(t, s[:keep]+marker(len(s)-keep), msg)
	}
}

func TestTruncateReplacesJSONWhole(t *testing.T) {
	vals := make([]int, 5000)
	anyField := Any("vals", vals)
	require.Equal(t, KindAny, anyField.Kind())
	n := len(anyField.Str())
	before := Placeholders()
	_, out, cut := Truncate("m", []Field{String("s", "short"), anyField}, 100+2*fieldSize)
	require.Len(t, out, 2)
	assert.Equal(t, String("s", "short"), out[0])
	assert.Equal(t, "vals", out[1].Key)
	assert.Equal(t, KindString, out[1].Kind())
	assert.True(t, out[1].Placeholder())
	assert.Equal(t, marker(n), out[1].Str())
	assert.Equal(t, Truncation{Bytes: n}, cut)
	assert.Equal(t, before+1, Placeholders())

	// Short JSON stays whole: the marker would be longer.
	small := Any("v", []int{1})
	_, out, _ = Truncate("m", []Field{small, String("s", strings.Repeat("s", 1000))}, 100+2*fieldSize)
	assert.Equal(t, small, out[0])
}

func TestTruncateMillionFields(t *testing.T) {
	one := String("key", "value")
	fields := make([]Field, 1_000_000)
	for i := range fields {
		fields[i] = one
	}
	const limit = 10_000
	start := time.Now()
	msg, out, cut := Truncate("msg", fields, limit)
	elapsed := time.Since(start)
	t.Logf("Truncate of a million fields: %v", elapsed)
	assert.Less(t, elapsed, time.Second)

	assert.Equal(t, "msg", msg)
	assert.LessOrEqual(t, Footprint(msg, out), limit)
	last := out[len(out)-1]
	assert.Equal(t, "!TRUNCATED", last.Key)
	assert.Equal(t, TruncatedKey, last.Key)
	assert.Equal(t, KindString, last.Kind())
	assert.True(t, last.Placeholder())
	kept := len(out) - 1
	assert.Equal(t, len(fields)-kept, cut.Fields)
	assert.Equal(t, cut.Fields*(8+fieldSize), cut.Bytes, "each dropped field is 8 bytes and its own")
	assert.Equal(t, fieldsMarker(cut.Fields, cut.Bytes), last.Str())
	// As many as fit: 3 + 8·kept + the trailer, reckoned with 7-digit
	// counts where K has 6.
	assert.InDelta(t, (limit-3-fieldSize-len(TruncatedKey)-len(last.Str()))/(8+fieldSize), kept, 1)
	for i := range fields {
		if fields[i] != one || i < kept && out[i] != one {
			t.Fatalf("field %d changed", i)
		}
	}
}

func TestTruncateManyFieldsAllCut(t *testing.T) {
	v := strings.Repeat("v", 100)
	fields := make([]Field, 100_000)
	for i := range fields {
		fields[i] = String("key", v)
	}
	const limit = 3 + 3_000_000 + 100_000*fieldSize // keys take 300 000, leaving 27 bytes a value
	msg, out, cut := Truncate("msg", fields, limit)
	assert.Equal(t, "msg", msg)
	require.Len(t, out, len(fields))
	// 4 bytes kept + a 23-byte marker.
	for i := range out {
		require.Equal(t, "vvvv"+marker(96), out[i].Str())
	}
	assert.Equal(t, Truncation{Bytes: 96 * len(fields)}, cut)
	assert.Equal(t, 3+(30+fieldSize)*len(fields), Footprint(msg, out))
	assert.Equal(t, v, fields[0].Str())
}

func TestTruncateDropsFieldsWithHugeKeys(t *testing.T) {
	key := strings.Repeat("k", 5000)
	fields := []Field{String("a", strings.Repeat("a", 3000)), Int(key, 1), String("b", "b")}
	msg, out, cut := Truncate("msg", fields, 1000+2*fieldSize)
	assert.Equal(t, "msg", msg)
	require.Len(t, out, 2)
	assert.Equal(t, "a", out[0].Key)
	assert.True(t, strings.HasSuffix(out[0].Str(), " bytes]"), "kept values are cut too")
	assert.Equal(t, 2, cut.Fields)
	removedA := 3000 - strings.Index(out[0].Str(), "…")
	assert.Equal(t, removedA+5000+2+2*fieldSize, cut.Bytes)
	assert.Equal(t, fieldsMarker(2, cut.Bytes), out[1].Str())
	assert.LessOrEqual(t, Footprint(msg, out), 1000+2*fieldSize)
}

func TestTruncateNonPositiveMax(t *testing.T) {
	long := strings.Repeat("m", 500)
	fields := []Field{String("a", "b"), Int("n", 1)}
	for _, limit := range []int{0, -1, math.MinInt} {
		msg, out, cut := Truncate(long, fields, limit)
		assert.Equal(t, marker(500), msg, "the message is cut to its marker")
		require.Len(t, out, 1)
		assert.Equal(t, fieldsMarker(2, 500+2+1+2*fieldSize), out[0].Str())
		assert.Equal(t, Truncation{Bytes: 503 + 2*fieldSize, Fields: 2}, cut)
		assert.LessOrEqual(t, Footprint(msg, out), TruncationSlack)
	}
	// A message shorter than its marker is kept; no fields, no trailer.
	msg, out, cut := Truncate("hi", nil, 0)
	assert.Equal(t, "hi", msg)
	assert.Nil(t, out)
	assert.Zero(t, cut)
}

func TestTruncateGroups(t *testing.T) {
	inner := []Field{String("big", strings.Repeat("b", 4000)), Int("n", 1)}
	g := Group("g", String("s", "small"), Group("h", inner...))
	fields := []Field{g, String("after", "x")}
	msg, out, cut := Truncate("m", fields, 500)
	require.Len(t, out, 2)
	assert.Equal(t, "m", msg)
	assert.LessOrEqual(t, Footprint(msg, out), 500)
	members := out[0].Group()
	require.Len(t, members, 2)
	assert.Equal(t, String("s", "small"), members[0])
	h := members[1].Group()
	require.Len(t, h, 2)
	assert.True(t, strings.HasPrefix(h[0].Str(), "bbb"))
	assert.True(t, strings.HasSuffix(h[0].Str(), " bytes]"))
	assert.Equal(t, 4000-strings.Index(h[0].Str(), "…"), cut.Bytes)
	// The input groups are untouched.
	assert.Equal(t, strings.Repeat("b", 4000), g.Group()[1].Group()[0].Str())
	assert.Equal(t, String("after", "x"), out[1])
}

func TestDeepGroupsDoNotCrash(t *testing.T) {
	deep := nest(String("leaf", strings.Repeat("x", 10000)), 10_000)
	fields := []Field{deep, String("s", strings.Repeat("s", 10000))}
	n := Footprint("m", fields)
	assert.Equal(t, 1+1+64*(1+fieldSize)+fieldSize+1+10000+2*fieldSize, n, "the leaf is below the walked depth")
	for _, limit := range []int{-1, 0, 100, 1000, 5000, n - 1} {
		msg, out, _ := Truncate("m", fields, limit)
		assert.LessOrEqual(t, Footprint(msg, out), max(limit, 0)+TruncationSlack)
	}
	// Shared members: 64 levels of Group(k, g, g) are 2^64 paths.
	shared := String("leaf", strings.Repeat("y", 100))
	for range 64 {
		shared = Group("g", shared, shared)
	}
	start := time.Now()
	n = Footprint("", []Field{shared})
	msg, out, _ := Truncate("", []Field{shared}, 1000)
	assert.LessOrEqual(t, Footprint(msg, out), 1000+2*fieldSize)
	assert.Less(t, time.Since(start), time.Second)
	assert.Positive(t, n)
}

func TestTruncateSlackCoversTheMarkers(t *testing.T) {
	// 40 and 78 bytes on 64-bit platforms.
	longest := len(marker(math.MaxInt))
	trailer := len(TruncatedKey) + len(fieldsMarker(math.MaxInt, math.MaxInt))
	assert.LessOrEqual(t, longest+trailer, TruncationSlack)
}

// FuzzTruncate builds fields from a little program and checks Truncate's
// contract on them.
func FuzzTruncate(f *testing.F) {
	f.Add("message", []byte{0, 5, 1, 3, 2, 4}, 50)
	f.Add("", []byte{0, 200, 0, 200, 5, 2, 6, 70}, 300)
	f.Add("é€😀", []byte{0, 255, 3, 9, 7, 5, 3}, 0)
	f.Add("\xff\xfe", []byte{1, 40, 2, 40, 3, 40, 4}, 120)
	f.Add(strings.Repeat("m", 3000), []byte{6, 200, 7, 7, 7, 5, 4}, 1000)
	f.Add("m", []byte{0, 100, 0, 100, 0, 100, 0, 100, 0, 100}, -5)
	f.Add("m", []byte{8, 8, 8, 8, 8, 8, 8, 8, 8, 8}, 200)
	f.Fuzz(checkTruncate)
}

// checkTruncate checks Truncate's contract on the fields prog builds.
func checkTruncate(t *testing.T, msg string, prog []byte, limit int) {
	// Shared group members count once per path, so a few bytes of prog
	// can make a footprint of gigabytes, and a result that size under a
	// limit as large; keep limits to what a run can afford.
	limit = min(limit, 1<<22)
	fields := fuzzFields(prog)
	var orig []Field
	walkFields(fields, map[*Field]bool{}, func(f Field) { orig = append(orig, f) })

	valid := utf8.ValidString(msg)
	walkStrings(fields, func(s string) { valid = valid && utf8.ValidString(s) })

	total := Footprint(msg, fields)
	outMsg, out, cut := Truncate(msg, fields, limit)
	n := Footprint(outMsg, out)

	if total <= limit {
		if outMsg != msg || len(out) != len(fields) || len(out) > 0 && &out[0] != &fields[0] || cut != (Truncation{}) {
			t.Fatalf("fitting input changed: %d <= %d", total, limit)
		}
		return
	}
	if n > max(limit, 0)+TruncationSlack || limit >= TruncationSlack && n > limit {
		t.Fatalf("footprint %d for max %d", n, limit)
	}
	if cut.Bytes < 0 || cut.Fields < 0 || cut.Fields > len(fields) {
		t.Fatalf("bad Truncation %+v", cut)
	}
	if cut.Fields > 0 {
		last := out[len(out)-1]
		if len(out) != len(fields)-cut.Fields+1 || last.Key != TruncatedKey || !last.Placeholder() || last.Str() != fieldsMarker(cut.Fields, cut.Bytes) {
			t.Fatalf("bad trailer %+v for %+v", last, cut)
		}
	} else if len(out) != len(fields) {
		t.Fatalf("%d fields out of %d, none dropped", len(out), len(fields))
	}
	if valid {
		ok := utf8.ValidString(outMsg)
		walkStrings(out, func(s string) { ok = ok && utf8.ValidString(s) })
		if !ok {
			t.Fatalf("invalid UTF-8 out of valid input")
		}
	}
	// The result fits, so truncating it again changes nothing.
	if limit >= TruncationSlack {
		if m2, o2, c2 := Truncate(outMsg, out, limit); m2 != outMsg || len(o2) != len(out) || c2 != (Truncation{}) {
			t.Fatalf("second Truncate changed the result")
		}
	}
	// The caller's fields, members included, are unchanged.
	i := 0
	walkFields(fields, map[*Field]bool{}, func(f Field) {
		if f != orig[i] {
			t.Fatalf("field or member %d changed", i)
		}
		i++
	})
}

// fuzzFields runs prog, a list of byte codes, to build fields: strings of
// any bytes and sizes, errors, bytes, JSON, numbers, groups of the last
// fields, deep nests and shared members.
func fuzzFields(prog []byte) []Field {
	next := func() int {
		if len(prog) == 0 {
			return 0
		}
		b := prog[0]
		prog = prog[1:]
		return int(b)
	}
	keys := []string{"", "k", "key", "ké", "\xff", strings.Repeat("K", 300)}
	// text repeats a tail of base, valid or not, up to 8128 bytes.
	const base = "ab€😀\xff\xe2\x82"
	text := func() string {
		n := next()
		chunk := base[next()%len(base):]
		return strings.Repeat(chunk, n*n/8/len(chunk))
	}
	// Sharing multiplies the paths Footprint walks; a few shares make
	// thousands, which is enough, and keeps each run short.
	shares := 0
	var fields []Field
	for steps := 0; len(prog) > 0 && steps < 100; steps++ {
		key := keys[next()%len(keys)]
		switch next() % 9 {
		case 0:
			fields = append(fields, String(key, text()))
		case 1:
			fields = append(fields, NamedErr(key, errors.New(text())))
		case 2:
			fields = append(fields, Bytes(key, []byte(text())))
		case 3:
			fields = append(fields, Any(key, []string{text()}))
		case 4:
			fields = append(fields, Int(key, next()))
		case 5: // group the last n fields
			n := min(next()%6, len(fields))
			g := Group(key, fields[len(fields)-n:]...)
			fields = append(fields[:len(fields)-n], g)
		case 6: // nest the last field deep
			if len(fields) > 0 {
				fields[len(fields)-1] = nest(fields[len(fields)-1], next())
			}
		case 7: // share the last field
			if len(fields) > 0 && shares < 10 {
				shares++
				fields = append(fields, fields[len(fields)-1])
			}
		case 8: // a group holding the last field twice
			if len(fields) > 0 && shares < 10 {
				shares++
				last := fields[len(fields)-1]
				fields[len(fields)-1] = Group(key, last, last)
			}
		}
	}
	return fields
}
