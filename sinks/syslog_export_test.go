package sinks

// SyslogSent returns how many messages and bytes (framing included) s has
// handed to the kernel, so that a test knows how much its server must
// receive before it reads back.
func SyslogSent(s *Syslog) (messages, bytes uint64) { return s.sentMessages, s.sentBytes }
