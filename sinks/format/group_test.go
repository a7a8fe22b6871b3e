package format_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/engine/event"
	"github.com/shardlog/shardlog/sinks/format"
)

// groupCases mirror the group rules testing/slogtest checks, for scope
// frames and Group fields alike. Each names the fields after the message.
var groupCases = []struct {
	name       string
	scope      *event.Scope
	fields     []event.Field
	json, text string
}{
	{
		name:   "empty group field is omitted",
		fields: []event.Field{event.Int("a", 1), event.Group("g"), event.Int("b", 2)},
		json:   `"a":1,"b":2`,
		text:   `a=1 b=2`,
	},
	{
		name: "group of empty fields and empty groups is omitted",
		fields: []event.Field{
			event.Group("g", event.Err(nil), event.Group("h", event.Group("i"))),
			event.Int("a", 1),
		},
		json: `"a":1`,
		text: `a=1`,
	},
	{
		name:   "empty group is omitted at the end",
		fields: []event.Field{event.Int("a", 1), event.Group("g", event.Group("h"))},
		json:   `"a":1`,
		text:   `a=1`,
	},
	{
		name:   "unnamed group is inlined",
		fields: []event.Field{event.Int("a", 1), event.Group("", event.Int("b", 2), event.Int("c", 3)), event.Int("d", 4)},
		json:   `"a":1,"b":2,"c":3,"d":4`,
		text:   `a=1 b=2 c=3 d=4`,
	},
	{
		name:   "unnamed group inside a group is inlined there",
		fields: []event.Field{event.Group("g", event.Group("", event.Int("b", 2)), event.Group(""))},
		json:   `"g":{"b":2}`,
		text:   `g.b=2`,
	},
	{
		name:   "nested groups",
		fields: []event.Field{event.Group("g", event.Int("a", 1), event.Group("h", event.Int("b", 2)), event.Int("c", 3))},
		json:   `"g":{"a":1,"h":{"b":2},"c":3}`,
		text:   `g.a=1 g.h.b=2 g.c=3`,
	},
	{
		name:   "scope fields come before event fields",
		scope:  (*event.Scope)(nil).With([]event.Field{event.Int("a", 1)}),
		fields: []event.Field{event.Int("b", 2)},
		json:   `"a":1,"b":2`,
		text:   `a=1 b=2`,
	},
	{
		name: "scope groups nest event fields",
		scope: (*event.Scope)(nil).With([]event.Field{event.Int("a", 1)}).
			WithGroup("G").With([]event.Field{event.Int("b", 2)}).WithGroup("H"),
		fields: []event.Field{event.Int("c", 3)},
		json:   `"a":1,"G":{"b":2,"H":{"c":3}}`,
		text:   `a=1 G.b=2 G.H.c=3`,
	},
	{
		name:  "scope group without any fields is omitted",
		scope: (*event.Scope)(nil).With([]event.Field{event.Int("a", 1)}).WithGroup("G"),
		json:  `"a":1`,
		text:  `a=1`,
	},
	{
		name: "inner scope group without fields is omitted, outer kept",
		scope: (*event.Scope)(nil).WithGroup("G").With([]event.Field{event.Int("b", 2)}).
			WithGroup("H"),
		fields: []event.Field{event.Group("empty")},
		json:   `"G":{"b":2}`,
		text:   `G.b=2`,
	},
	{
		name:   "scope group holding only empty groups is omitted",
		scope:  (*event.Scope)(nil).WithGroup("G").With([]event.Field{event.Group("g")}).WithGroup("H"),
		fields: []event.Field{event.Err(nil)},
		json:   ``,
		text:   ``,
	},
	{
		name:   "outer scope group kept for fields further in",
		scope:  (*event.Scope)(nil).WithGroup("G").WithGroup("H"),
		fields: []event.Field{event.Int("c", 3)},
		json:   `"G":{"H":{"c":3}}`,
		text:   `G.H.c=3`,
	},
	{
		name:   "group field inside scope group",
		scope:  (*event.Scope)(nil).WithGroup("G"),
		fields: []event.Field{event.Group("g", event.Int("a", 1))},
		json:   `"G":{"g":{"a":1}}`,
		text:   `G.g.a=1`,
	},
	{
		name:   "field with empty key is written",
		fields: []event.Field{event.Int("", 1)},
		json:   `"":1`,
		text:   `""=1`,
	},
	{
		name:   "scope with no frames",
		scope:  &event.Scope{},
		fields: []event.Field{event.Int("a", 1)},
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
	f := event.Int("x", 1)
	want := "x=1"
	for i := range 40 {
		name := string(rune('a' + i%26))
		f = event.Group(name, f)
		want = name + "." + want
	}
	require.Equal(t, "level=INFO msg=m "+want+"\n", encode(format.Text{}, newEvent("m", f)))
}
