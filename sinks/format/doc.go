// Package format holds the encoders that turn a core.Event into one line
// of bytes: JSON (one object per line), SlogJSON (the bytes of slog's
// JSONHandler), Text (logfmt, as slog's TextHandler writes it) and Syslog
// (an RFC 5424 message, for the syslog sink).
//
// All satisfy core.Encoder by shape; the package does not import sinks,
// so sinks may name these encoders as defaults without an import cycle.
//
// The encoders share three rules:
//   - Every event gives exactly one well-formed line, whatever its strings
//     hold: control characters, invalid UTF-8 and terminal escape sequences
//     are escaped, so a logged value can neither forge a line nor drive the
//     terminal that shows the log.
//   - Groups follow slog: a group with no fields, counting nested groups,
//     is left out; a group with an empty name adds its fields to the
//     enclosing level. Fields are written as given otherwise: duplicate
//     keys stay duplicated and an empty key is written as an empty key
//     (dropping those is the slog handler's job, not the encoder's).
//   - Appending into a buffer with room to spare does not allocate, except
//     for the caller entry and for levels between the named ones.
package format
