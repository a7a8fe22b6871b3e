package sinks

import (
	"fmt"
	"io"
	"os"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// Stream names a standard output stream of the process.
type Stream uint8

// The streams a console sink can write to. The zero Stream is Stderr:
// logs go to standard error by default, as zap's production logger and
// most daemons do, so standard output stays free for the program's own
// output.
const (
	Stderr Stream = iota
	Stdout
)

// String names the stream ("stdout" or "stderr").
func (s Stream) String() string {
	switch s {
	case Stderr:
		return "stderr"
	case Stdout:
		return "stdout"
	}
	return fmt.Sprintf("Stream(%d)", uint8(s))
}

// ConsoleOptions configures NewConsole. The zero value writes text lines
// to standard error.
type ConsoleOptions struct {
	// Stream is the stream to write to; the zero value is Stderr.
	Stream Stream
	// Encoder encodes the events; nil means format.Text{}. Pass
	// format.JSON{} for JSON lines.
	Encoder core.Encoder
	// Out, when not nil, replaces Stream as the destination: to capture
	// console output in a test, or to send it to a terminal other than
	// the process's own. The sink never closes or syncs Out; it calls
	// Out's Flush() error method on Flush, if Out has one.
	Out io.Writer
}

// NewConsole returns a Writer on the process's standard error or standard
// output, encoding with format.Text{} unless opts say otherwise.
//
// The stream is resolved here, once: replacing os.Stderr or os.Stdout
// later does not redirect the sink. The sink never closes the stream, and
// Flush does not fsync it (a console has nothing to sync). A batch of up
// to 256 KiB reaches the stream in one write call.
func NewConsole(opts ConsoleOptions) (*Writer, error) {
	out := opts.Out
	if out == nil {
		switch opts.Stream {
		case Stderr:
			out = os.Stderr
		case Stdout:
			out = os.Stdout
		default:
			return nil, fmt.Errorf("sinks: console: Stream must be Stdout or Stderr, got %v", opts.Stream)
		}
	}
	enc := opts.Encoder
	if enc == nil {
		enc = format.Text{}
	}
	w := newWriter("console", out, enc)
	w.syncer = nil
	return w, nil
}
