package format_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// slogHandler is the least slog.Handler over an Encoder: it turns records
// and With/WithGroup into events and scopes and does the handler's part
// of slog's rules (dropping empty attributes, resolving LogValuers), so
// testing/slogtest checks the encoders' part: group elision, inlining,
// nesting and the zero time.
type slogHandler struct {
	enc   core.Encoder
	out   *bytes.Buffer
	scope *core.Scope
}

func (h *slogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	e := &core.Event{Time: r.Time, Level: core.Level(r.Level), Message: r.Message, Scope: h.scope}
	var fields []core.Field
	r.Attrs(func(a slog.Attr) bool {
		fields = appendAttr(fields, a)
		return true
	})
	e.SetFields(fields)
	h.out.Write(h.enc.Append(nil, e))
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var fields []core.Field
	for _, a := range attrs {
		fields = appendAttr(fields, a)
	}
	return &slogHandler{h.enc, h.out, h.scope.With(fields)}
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	return &slogHandler{h.enc, h.out, h.scope.WithGroup(name)}
}

func appendAttr(fields []core.Field, a slog.Attr) []core.Field {
	v := a.Value.Resolve()
	switch {
	case v.Kind() == slog.KindGroup:
		var members []core.Field
		for _, m := range v.Group() {
			members = appendAttr(members, m)
		}
		return append(fields, core.Group(a.Key, members...))
	case a.Key == "":
		return fields
	}
	return append(fields, core.Any(a.Key, v.Any()))
}

func TestJSONPassesSlogtest(t *testing.T) {
	var out bytes.Buffer
	slogtest.Run(t,
		func(*testing.T) slog.Handler {
			out.Reset()
			return &slogHandler{enc: format.JSON{}, out: &out}
		},
		func(t *testing.T) map[string]any {
			var m map[string]any
			require.NoError(t, json.Unmarshal(out.Bytes(), &m), out.String())
			return m
		})
}

func TestTextPassesSlogtest(t *testing.T) {
	var out bytes.Buffer
	slogtest.Run(t,
		func(*testing.T) slog.Handler {
			out.Reset()
			return &slogHandler{enc: format.Text{}, out: &out}
		},
		func(t *testing.T) map[string]any {
			pairs, err := parseLogfmt(out.String())
			require.NoError(t, err, out.String())
			// Rebuild the groups from the dotted keys, as slogtest's
			// own TextHandler example does.
			m := map[string]any{}
			for _, p := range pairs {
				path := strings.Split(p.key, ".")
				at := m
				for _, g := range path[:len(path)-1] {
					inner, ok := at[g].(map[string]any)
					if !ok {
						inner = map[string]any{}
						at[g] = inner
					}
					at = inner
				}
				at[path[len(path)-1]] = p.value
			}
			return m
		})
}
