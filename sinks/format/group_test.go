package format_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// groupCases mirror the group rules testing/slogtest checks, for scope
// frames and Group fields alike. Each names the fields after the message.
var groupCases = []struct {
	name       string
	scope      *core.Scope
	fields     []core.Field
	json, text string
}{
	{
		name:   "empty group field is omitted",
		fields: []core.Field{core.Int("a", 1), core.Group("g"), core.Int("b", 2)},
		json:   `"a":1,"b":2`,
		text:   `a=1 b=2`,
	},
	{
		name: "group of empty fields and empty groups is omitted",
		fields: []core.Field{
			core.Group("g", core.Err(nil), core.Group("h", core.Group("i"))),
			core.Int("a", 1),
		},
		json: `"a":1`,
		text: `a=1`,
	},
	{
		name:   "empty group is omitted at the end",
		fields: []core.Field{core.Int("a", 1), core.Group("g", core.Group("h"))},
		json:   `"a":1`,
		text:   `a=1`,
	},
	{
		name:   "unnamed group is inlined",
		fields: []core.Field{core.Int("a", 1), core.Group("", core.Int("b", 2), core.Int("c", 3)), core.Int("d", 4)},
		json:   `"a":1,"b":2,"c":3,"d":4`,
		text:   `a=1 b=2 c=3 d=4`,
	},
	{
		name:   "unnamed group inside a group is inlined there",
		fields: []core.Field{core.Group("g", core.Group("", core.Int("b", 2)), core.Group(""))},
		json:   `"g":{"b":2}`,
		text:   `g.b=2`,
	},
	{
		name:   "nested groups",
		fields: []core.Field{core.Group("g", core.Int("a", 1), core.Group("h", core.Int("b", 2)), core.Int("c", 3))},
		json:   `"g":{"a":1,"h":{"b":2},"c":3}`,
		text:   `g.a=1 g.h.b=2 g.c=3`,
	},
	{
		name:   "scope fields come before event fields",
		scope:  (*core.Scope)(nil).With([]core.Field{core.Int("a", 1)}),
		fields: []core.Field{core.Int("b", 2)},
		json:   `"a":1,"b":2`,
		text:   `a=1 b=2`,
	},
	{
		name: "scope groups nest event fields",
		scope: (*core.Scope)(nil).With([]core.Field{core.Int("a", 1)}).
			WithGroup("G").With([]core.Field{core.Int("b", 2)}).WithGroup("H"),
		fields: []core.Field{core.Int("c", 3)},
		json:   `"a":1,"G":{"b":2,"H":{"c":3}}`,
		text:   `a=1 G.b=2 G.H.c=3`,
	},
	{
		name:  "scope group without any fields is omitted",
		scope: (*core.Scope)(nil).With([]core.Field{core.Int("a", 1)}).WithGroup("G"),
		json:  `"a":1`,
		text:  `a=1`,
	},
	{
		name: "inner scope group without fields is omitted, outer kept",
		scope: (*core.Scope)(nil).WithGroup("G").With([]core.Field{core.Int("b", 2)}).
			WithGroup("H"),
		fields: []core.Field{core.Group("empty")},
		json:   `"G":{"b":2}`,
		text:   `G.b=2`,
	},
	{
		name:   "scope group holding only empty groups is omitted",
		scope:  (*core.Scope)(nil).WithGroup("G").With([]core.Field{core.Group("g")}).WithGroup("H"),
		fields: []core.Field{core.Err(nil)},
		json:   ``,
		text:   ``,
	},
	{
		name:   "outer scope group kept for fields further in",
		scope:  (*core.Scope)(nil).WithGroup("G").WithGroup("H"),
		fields: []core.Field{core.Int("c", 3)},
		json:   `"G":{"H":{"c":3}}`,
		text:   `G.H.c=3`,
	},
	{
		name:   "group field inside scope group",
		scope:  (*core.Scope)(nil).WithGroup("G"),
		fields: []core.Field{core.Group("g", core.Int("a", 1))},
		json:   `"G":{"g":{"a":1}}`,
		text:   `G.g.a=1`,
	},
	{
		name:   "field with empty key is written",
		fields: []core.Field{core.Int("", 1)},
		json:   `"":1`,
		text:   `""=1`,
	},
	{
		name:   "scope with no frames",
		scope:  &core.Scope{},
		fields: []core.Field{core.Int("a", 1)},
		json:   `"a":1`,
		text:   `a=1`,
	},
}

func TestJSONGroups(t *testing.T) {
	for _, tc := range groupCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEvent("m", tc.fields...)
			e.Scope = tc.scope
			want := `{"level":"INFO","msg":"m"`
			if tc.json != "" {
				want += "," + tc.json
			}
			require.Equal(t, want+"}\n", encode(format.JSON{}, e))
		})
	}
}

func TestTextGroups(t *testing.T) {
	for _, tc := range groupCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEvent("m", tc.fields...)
			e.Scope = tc.scope
			want := `level=INFO msg=m`
			if tc.text != "" {
				want += " " + tc.text
			}
			require.Equal(t, want+"\n", encode(format.Text{}, e))
		})
	}
}

func TestGroupsDeeperThanThePathArray(t *testing.T) {
	f := core.Int("x", 1)
	want := "x=1"
	for i := range 40 {
		name := string(rune('a' + i%26))
		f = core.Group(name, f)
		want = name + "." + want
	}
	require.Equal(t, "level=INFO msg=m "+want+"\n", encode(format.Text{}, newEvent("m", f)))
}
