package shardlog

import (
	"io"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// The core sinks and encodings, for a basic setup; see packages sinks and
// sinks/format.
type (
	// FileOptions configures NewFile: path, encoder, rotation.
	FileOptions = sinks.FileOptions
	// ConsoleOptions configures NewConsole.
	ConsoleOptions = sinks.ConsoleOptions
	// JSON encodes one JSON object per line (the file sink's default).
	JSON = format.JSON
	// Text encodes logfmt, one line per event (the console's default).
	Text = format.Text
	// SlogJSON writes exactly what log/slog's JSON handler writes.
	SlogJSON = format.SlogJSON
	// File is the file sink; Writer the io.Writer and console sink.
	File   = sinks.File
	Writer = sinks.Writer
	// SyslogOptions configures NewSyslog: transport, address, RFC 5424
	// header fields, structured-data ID.
	SyslogOptions = sinks.SyslogOptions
	// HTTPOptions configures NewHTTP: URL, encoder, headers, request
	// size, gzip.
	HTTPOptions = sinks.HTTPOptions
	// Syslog is the syslog sink; HTTP the HTTP batch sink.
	Syslog = sinks.Syslog
	HTTP   = sinks.HTTP
)

// NewFile returns a sink that appends to a file, with optional rotation.
func NewFile(opts FileOptions) (*File, error) { return sinks.NewFile(opts) }

// NewConsole returns a sink that writes to stderr (or opts.Out).
func NewConsole(opts ConsoleOptions) (*Writer, error) { return sinks.NewConsole(opts) }

// NewSyslog returns a sink that sends RFC 5424 messages to a syslog
// receiver over TCP (the default), TLS, UDP or a Unix socket.
func NewSyslog(opts SyslogOptions) (*Syslog, error) { return sinks.NewSyslog(opts) }

// NewHTTP returns a sink that POSTs batches of JSON lines to a URL.
func NewHTTP(opts HTTPOptions) (*HTTP, error) { return sinks.NewHTTP(opts) }

// NewWriter returns a sink that writes events encoded by enc to w.
func NewWriter(w io.Writer, enc core.Encoder) (*Writer, error) { return sinks.NewWriter(w, enc) }

// Keys names the entries an encoder writes before an event's fields; an
// empty name leaves its entry out. See format.Keys.
type Keys = format.Keys

// DefaultKeys returns slog's "time", "level" and "msg", and "logger" and
// "caller".
func DefaultKeys() Keys { return format.DefaultKeys() }
