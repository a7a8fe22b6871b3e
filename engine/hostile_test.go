package engine_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// Bad events have a defined outcome through the whole engine: an event
// over the size limit (1 MiB by default) is cut to it, marked, and
// written; invalid UTF-8 and control characters never break a
// record (JSON stays valid, text stays one line); nil values are written
// as empty or null, never a panic.
func TestHostileEventsThroughTheEngine(t *testing.T) {
	dir := t.TempDir()
	file, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(dir, "app.log")})
	require.NoError(t, err)
	var textOut strings.Builder
	text, err := sinks.NewWriter(&textOut, format.Text{})
	require.NoError(t, err)
	e := newEngine(t, engine.WithSink(file, engine.SinkName("file")), engine.WithSink(text, engine.SinkName("text")))
	log := e.Logger()

	huge := strings.Repeat("x", 4<<20)
	var nilErr error
	var nilPtr *struct{ A int }
	log.Info(huge)
	log.Info("bad \xff\xfe utf8", core.String("k\xff", "v\xc3"), core.Bytes("b", []byte{0, 1, 0xff}))
	log.Info("forged\nlevel=ERROR msg=\"pwned\"\r\x1b[31m", core.String("v", "a\nb"))
	log.Info("nils", core.Err(nilErr), core.Any("p", nilPtr), core.Any("n", nil))
	flush(t, e)

	data, err := os.ReadFile(filepath.Join(dir, "app.log"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 4, "one JSON record per event")
	for i, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "record %d is valid JSON", i)
	}
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	msg := first["msg"].(string)
	require.LessOrEqual(t, len(msg), engine.DefaultMaxEventBytes+core.TruncationSlack, "the huge message is cut to the limit")
	require.Greater(t, len(msg), engine.DefaultMaxEventBytes-1024)
	kept, marker, ok := strings.Cut(msg, "…[truncated ")
	require.True(t, ok, "marked: %q", msg[len(msg)-40:])
	require.Equal(t, strconv.Itoa(4<<20-len(kept))+" bytes]", marker, "the marker says exactly what was cut")
	require.Contains(t, lines[3], `"p":null`)
	require.Contains(t, lines[3], `"n":null`)
	require.NotContains(t, lines[3], `"error"`, "a nil error is an empty field")

	tl := strings.Split(strings.TrimSuffix(textOut.String(), "\n"), "\n")
	require.Len(t, tl, 4, "the text encoder writes exactly one line per event")
	require.NotContains(t, tl[2], "\r")
	require.NotContains(t, tl[2], "\x1b")
	require.Contains(t, tl[2], `msg="forged\nlevel=ERROR msg=\"pwned\"\r\x1b[31m"`)
	requireBalanced(t, e.Stats())
}
