// Package sinks holds the core sinks: io.Writer, console, file (with
// rotation), memory, and the network sinks: syslog (RFC 5424 over TCP,
// TLS, UDP or a Unix socket) and HTTP (batches POSTed as JSON lines). The
// contracts they implement (core.Sink, core.Encoder, core.Encoding) live
// in package core; the encoders in sinks/format; the conformance suite
// every sink must pass in sinks/sinktest.
package sinks

import "errors"

// ErrClosed is returned by a sink's methods after Close.
var ErrClosed = errors.New("sinks: sink is closed")
