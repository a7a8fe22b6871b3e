package format

import (
	"strings"

	"github.com/shardlog/shardlog/core"
)

// callerOf resolves the event's call site, if it has one. The frame
// lookup allocates, which is acceptable only because caller capture is
// opt-in.
func callerOf(e *core.Event) (file string, line int, ok bool) {
	if e.PC == 0 {
		return "", 0, false
	}
	f, ok := e.Frame()
	if !ok {
		return "", 0, false
	}
	return shortFile(f.File), f.Line, true
}

// shortFile keeps the last two elements of a slash-separated path, the
// package directory and the file ("event/field.go"): enough to find the
// line in a repository, short enough for every line of a log.
func shortFile(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return path
	}
	return path[strings.LastIndexByte(path[:i], '/')+1:]
}
