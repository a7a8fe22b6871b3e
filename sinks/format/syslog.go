package format

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/shardlog/shardlog/core"
)

// Facility is a syslog facility (RFC 5424, section 6.2.1): the part of
// the system a message comes from. The zero Facility stands for
// FacilityUser. Facility 0 (kernel messages) cannot be chosen: it is the
// kernel's, and glibc's syslog(3) also reads 0 as "the default".
type Facility uint8

// The facilities of RFC 5424, table 1; 12 to 15 (NTP, audit, alert,
// clock) are valid as Facility(n).
const (
	FacilityUser     Facility = 1
	FacilityMail     Facility = 2
	FacilityDaemon   Facility = 3
	FacilityAuth     Facility = 4
	FacilitySyslog   Facility = 5
	FacilityLPR      Facility = 6
	FacilityNews     Facility = 7
	FacilityUUCP     Facility = 8
	FacilityCron     Facility = 9
	FacilityAuthPriv Facility = 10
	FacilityFTP      Facility = 11
	FacilityLocal0   Facility = 16
	FacilityLocal1   Facility = 17
	FacilityLocal2   Facility = 18
	FacilityLocal3   Facility = 19
	FacilityLocal4   Facility = 20
	FacilityLocal5   Facility = 21
	FacilityLocal6   Facility = 22
	FacilityLocal7   Facility = 23
)

// MaxFacility is the largest facility code RFC 5424 defines (local7).
const MaxFacility Facility = 23

var facilityNames = [...]string{
	1: "user", 2: "mail", 3: "daemon", 4: "auth", 5: "syslog", 6: "lpr",
	7: "news", 8: "uucp", 9: "cron", 10: "authpriv", 11: "ftp", 12: "ntp",
	13: "audit", 14: "alert", 15: "clock", 16: "local0", 17: "local1",
	18: "local2", 19: "local3", 20: "local4", 21: "local5", 22: "local6",
	23: "local7",
}

// String names the facility as syslog.conf does ("user", "local0"); the
// zero Facility is "user".
func (f Facility) String() string {
	f = f.orDefault()
	if f <= MaxFacility {
		return facilityNames[f]
	}
	return fmt.Sprintf("Facility(%d)", uint8(f))
}

func (f Facility) orDefault() Facility {
	if f == 0 {
		return FacilityUser
	}
	return f
}

// The syslog severities of RFC 5424, table 2, that levels map to.
const (
	sevCritical = 2
	sevError    = 3
	sevWarning  = 4
	sevNotice   = 5
	sevInfo     = 6
	sevDebug    = 7
)

// Severity returns the RFC 5424 severity an event of level l is sent
// with:
//
//	level                          severity
//	below Info (Trace, Debug, ...)  7 debug
//	Info                            6 informational
//	Info+1 to Info+3                5 notice (slog's example LevelNotice is Info+2)
//	Warn to Error-1                 4 warning
//	Error to Fatal-1                3 error
//	Fatal and above                 2 critical
//
// Alert (1) and emergency (0) are never used: they mean the whole system
// is failing, and a stock rsyslog writes emergency messages to every
// logged-in terminal.
func Severity(l core.Level) int {
	switch {
	case l < core.LevelInfo:
		return sevDebug
	case l == core.LevelInfo:
		return sevInfo
	case l < core.LevelWarn:
		return sevNotice
	case l < core.LevelError:
		return sevWarning
	case l < core.LevelFatal:
		return sevError
	}
	return sevCritical
}

// DefaultSDID is the SD-ID of the element that carries an event's fields
// when Syslog.SDID is empty. RFC 5424 reserves unqualified SD-IDs for
// IANA, so a private one takes the form name@<private enterprise
// number>; 32473 is the number RFC 5612 reserves for documentation.
// It is valid everywhere and collides with no registered enterprise, but
// an organisation with its own number should use it (SDID: "app@12345").
const DefaultSDID = "shardlog@32473"

// The maximum lengths of RFC 5424's header fields and SD-NAMEs.
const (
	MaxHostnameLen = 255
	MaxAppNameLen  = 48
	MaxProcIDLen   = 128
	MaxMsgIDLen    = 32
	MaxSDNameLen   = 32
)

// Syslog encodes each event as one RFC 5424 syslog message followed by
// '\n' (core.Encoder requires it; a syslog sink replaces it with its
// framing):
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
//	<134>1 2025-06-01T12:00:01.000000Z web1 api 4242 - [shardlog@32473 logger="http" user="ann" req.id="7"] request handled
//
// Each part:
//   - PRI is Facility×8 plus the severity of the event's level (see
//     Severity).
//   - TIMESTAMP is the event time in RFC 3339 with microseconds
//     (truncated), in the time's own location ("Z" for UTC, else the
//     offset); "-" for a zero time or a year outside 0000-9999.
//   - HOSTNAME, APP-NAME, PROCID and MSGID are written as set, "-" when
//     empty. They should be printable US-ASCII without spaces and within
//     RFC 5424's lengths (255, 48, 128, 32); Append replaces any other
//     byte with '_' and cuts them to length, so the message is always
//     well formed. The sink sets them (sinks.NewSyslog), checked.
//   - STRUCTURED-DATA is one element, SD-ID SDID, holding the logger name
//     ("logger"), the call site ("caller") and the fields of the event's
//     scope and its own, in that order, groups flattened into dotted
//     names (req.id). "-" when there is nothing to put in it. A name is
//     cut to 32 bytes, and a byte not allowed in a PARAM-NAME ('=', ' ',
//     ']', '"', control characters, non-ASCII) becomes '_'; an empty name
//     becomes "_". Names repeated by the caller stay repeated, which RFC
//     5424 allows.
//   - A PARAM-VALUE escapes '"', '\' and ']' with a backslash as RFC 5424
//     requires. Control characters, DEL, invalid UTF-8 and unprintable
//     runes, which RFC 5424 gives no escape for, are written as Go
//     escapes (\n, \t, \x1b, \xff, \u2028): a receiver shows them as
//     those characters. Values by kind follow Text.
//   - MSG is the event message, UTF-8, with the same Go escapes for
//     control characters, invalid UTF-8 and unprintable runes, and
//     without a BOM unless BOM is set. Quotes and backslashes stay as
//     they are, so MSG reads as written but a backslash sequence in it is
//     ambiguous.
//
// With SDID "-" there is no structured data: the logger, caller and
// fields follow the message in MSG as logfmt pairs (Text's rules), for
// receivers that show only MSG.
//
// MaxSize, when positive, bounds the message (without the '\n'): a
// longer one is cut at the end, as RFC 5424 says truncation happens. MSG
// is cut first, on a UTF-8 boundary; if the header and structured data
// alone are too long, MSG is left out and the element keeps the
// parameters that fit. A message whose header alone passes MaxSize
// (possible only when MaxSize is below about 550 bytes) is written whole.
//
// The zero Syslog is ready to use, with every header field "-". Syslog
// is comparable and safe for concurrent use. Appending into a buffer
// with room to spare does not allocate, except for the caller entry.
type Syslog struct {
	// Facility is the facility of every message; zero is FacilityUser.
	// A value above MaxFacility is written as FacilityUser.
	Facility Facility
	// Hostname, AppName, ProcID and MsgID are the header fields; "" or
	// "-" writes the NILVALUE "-".
	Hostname string
	AppName  string
	ProcID   string
	MsgID    string
	// SDID is the SD-ID of the element holding the fields; "" means
	// DefaultSDID, "-" puts the fields in MSG instead.
	SDID string
	// BOM starts MSG with the UTF-8 byte order mark, as RFC 5424 section
	// 6.4 asks of a UTF-8 MSG. Off by default: rsyslog, syslog-ng and
	// journald read MSG as UTF-8 without it, and keep it in the text
	// when it is there.
	BOM bool
	// MaxSize bounds each message in bytes; zero means no limit.
	MaxSize int
}

// Append appends e as one RFC 5424 message and '\n' to dst and returns
// the extended buffer. It does not retain dst or e.
func (s Syslog) Append(dst []byte, e *core.Event) []byte {
	start := len(dst)
	dst = append(dst, '<')
	dst = appendUint(dst, uint64(s.facility())*8+uint64(Severity(e.Level)))
	dst = append(dst, '>', '1', ' ')
	dst = appendSyslogTime(dst, e.Time)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, s.Hostname, MaxHostnameLen)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, s.AppName, MaxAppNameLen)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, s.ProcID, MaxProcIDLen)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, s.MsgID, MaxMsgIDLen)
	dst = append(dst, ' ')
	sd := len(dst)
	var msg int
	if s.SDID == "-" {
		dst = append(dst, '-', ' ')
		msg = len(dst)
		dst = s.appendMsg(dst, e)
		dst = appendMsgPairs(dst, msg, e)
	} else {
		dst = s.appendSD(dst, e)
		dst = append(dst, ' ')
		msg = len(dst)
		dst = s.appendMsg(dst, e)
	}
	if s.MaxSize > 0 && len(dst)-start > s.MaxSize {
		dst = s.cut(dst, start, sd, msg)
	}
	return append(dst, '\n')
}

func (s Syslog) facility() Facility {
	f := s.Facility.orDefault()
	if f > MaxFacility {
		return FacilityUser
	}
	return f
}

// appendSyslogTime appends t as RFC 5424's TIMESTAMP: the default layout
// cut to six fractional digits, or "-".
func appendSyslogTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, '-')
	}
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		// TIME-OFFSET has hours 00-23: the same instant in UTC.
		t = t.UTC()
	}
	start := len(dst)
	dst, ok := appendDefaultTime(dst, t)
	if !ok {
		return append(dst, '-')
	}
	// "2006-01-02T15:04:05.000000000" is 29 bytes; drop the last three
	// digits of the fraction and move the zone down over them.
	frac := start + 26
	n := copy(dst[frac:], dst[frac+3:])
	return dst[:frac+n]
}

// headerByte marks the bytes RFC 5424's header fields allow: PRINTUSASCII,
// %d33-126.
func headerByte(c byte) bool { return c >= 33 && c <= 126 }

// appendHeaderField appends s as a header field of at most max bytes, "-"
// when empty, with each byte outside PRINTUSASCII replaced by '_'.
func appendHeaderField(dst []byte, s string, max int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		if !headerByte(s[i]) {
			return appendReplacing(dst, s, headerByte)
		}
	}
	return append(dst, s...)
}

// appendReplacing appends s with each byte that ok rejects replaced by '_'.
func appendReplacing(dst []byte, s string, ok func(byte) bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !ok(c) {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// sdNameByte marks the bytes an SD-NAME allows: PRINTUSASCII except '=',
// SP, ']' and '"' (SP is already outside it).
func sdNameByte(c byte) bool { return headerByte(c) && c != '=' && c != ']' && c != '"' }

// appendSD appends the structured data: one element, or "-" when it
// would hold no parameter.
func (s Syslog) appendSD(dst []byte, e *core.Event) []byte {
	mark := len(dst)
	id := s.SDID
	if id == "" {
		id = DefaultSDID
	}
	if len(id) > MaxSDNameLen {
		id = id[:MaxSDNameLen]
	}
	dst = append(dst, '[')
	dst = appendReplacing(dst, id, sdNameByte)
	empty := len(dst)
	if e.Logger != "" {
		dst = append(dst, ` logger="`...)
		dst = appendSDValue(dst, e.Logger)
		dst = append(dst, '"')
	}
	if file, line, ok := callerOf(e); ok {
		dst = append(dst, ` caller="`...)
		dst = appendSDValue(dst, file)
		dst = append(dst, ':')
		dst = appendInt(dst, int64(line))
		dst = append(dst, '"')
	}
	var frames []core.Frame
	if e.Scope != nil {
		frames = e.Scope.Frames
	}
	var path [maxFlatDepth]string
	p := path[:0]
	for i := range frames {
		if g := frames[i].Group; g != "" {
			p = append(p, g)
		}
		dst = appendSDParams(dst, p, frames[i].Fields)
	}
	dst = appendSDParams(dst, p, e.Fields())
	if len(dst) == empty {
		return append(dst[:mark], '-')
	}
	return append(dst, ']')
}

// appendSDParams appends fields as SD-PARAMs, groups flattened into
// dotted names under path.
func appendSDParams(dst []byte, path []string, fields []core.Field) []byte {
	for i := range fields {
		f := &fields[i]
		switch f.Kind() {
		case core.KindEmpty:
			continue
		case core.KindGroup:
			if f.Key == "" {
				dst = appendSDParams(dst, path, f.Group())
			} else {
				dst = appendSDParams(dst, append(path, f.Key), f.Group())
			}
			continue
		}
		dst = append(dst, ' ')
		dst = appendSDName(dst, path, f.Key)
		dst = append(dst, '=', '"')
		dst = appendSDFieldValue(dst, f)
		dst = append(dst, '"')
	}
	return dst
}

// appendSDName appends the dotted name of key under path as a PARAM-NAME:
// at most MaxSDNameLen bytes, forbidden bytes replaced by '_', "_" if
// empty.
func appendSDName(dst []byte, path []string, key string) []byte {
	start := len(dst)
	room := MaxSDNameLen
	put := func(s string) {
		if len(s) > room {
			s = s[:room]
		}
		dst = appendReplacing(dst, s, sdNameByte)
		room -= len(s)
	}
	for _, g := range path {
		put(g)
		put(".")
	}
	put(key)
	if len(dst) == start {
		dst = append(dst, '_')
	}
	return dst
}

func appendSDFieldValue(dst []byte, f *core.Field) []byte {
	switch f.Kind() {
	case core.KindString, core.KindError, core.KindBytes, core.KindAny:
		return appendSDValue(dst, f.Str())
	}
	out, _ := appendPlainScalar(dst, f) // a kind it does not know: an empty value
	return out
}

// sdPlain marks the ASCII bytes a PARAM-VALUE holds unescaped.
var sdPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != ']'
	}
	return t
}()

// msgPlain marks the ASCII bytes MSG holds unescaped: all printable ones.
var msgPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	return t
}()

// appendSDValue appends s as the inside of a PARAM-VALUE.
func appendSDValue(dst []byte, s string) []byte { return appendGoEscaped(dst, s, &sdPlain) }

// appendMsg appends MSG: the optional BOM and the escaped message.
func (s Syslog) appendMsg(dst []byte, e *core.Event) []byte {
	if s.BOM {
		dst = append(dst, 0xEF, 0xBB, 0xBF)
	}
	return appendGoEscaped(dst, e.Message, &msgPlain)
}

// appendMsgPairs appends the logger, caller and fields as logfmt pairs
// after the message, which starts at index msg, for SDID "-".
func appendMsgPairs(dst []byte, msg int, e *core.Event) []byte {
	if e.Logger != "" {
		dst = appendTextKey(dst, msg, nil, "logger")
		dst = appendTextString(dst, e.Logger)
	}
	if file, line, ok := callerOf(e); ok {
		dst = appendTextKey(dst, msg, nil, "caller")
		dst = appendTextString(dst, file+":"+strconv.Itoa(line))
	}
	var frames []core.Frame
	if e.Scope != nil {
		frames = e.Scope.Frames
	}
	var path [maxFlatDepth]string
	return appendTextFrames(dst, msg, path[:0], frames, e.Fields())
}

// cut shortens the message that starts at index start, whose structured
// data starts at sd and MSG at msg, to s.MaxSize bytes (see Syslog).
func (s Syslog) cut(dst []byte, start, sd, msg int) []byte {
	limit := start + s.MaxSize
	if msg <= limit {
		// Cut MSG, not inside a rune: MSG is valid UTF-8.
		end := limit
		for end > msg && !utf8.RuneStart(dst[end]) {
			end--
		}
		if end == msg {
			end-- // no MSG: no SP before it either
		}
		return dst[:end]
	}
	if dst[sd] != '[' || sd+1 > limit {
		// The header alone is too long (or SD is "-" and MSG starts at
		// msg): keep the header and "-", well formed if over the limit.
		return append(dst[:sd], '-')
	}
	// Keep the parameters that end, with the closing ']', by limit. The
	// element holds only what appendSD writes: after the SD-ID, params
	// ` name="value"`, where a value's '"' is always escaped and every
	// backslash starts a two-byte escape.
	p := sd + 1
	for p < msg && dst[p] != ' ' && dst[p] != ']' {
		p++
	}
	id, keep := p, p
	for p < msg && dst[p] == ' ' {
		for p < msg && dst[p] != '"' {
			p++
		}
		p++ // the opening quote
		for p < msg && dst[p] != '"' {
			if dst[p] == '\\' {
				p++
			}
			p++
		}
		p++ // the closing quote
		if p+1 > limit {
			break
		}
		keep = p
	}
	if keep == id {
		// No parameter fits: an element without parameters says nothing.
		return append(dst[:sd], '-')
	}
	return append(dst[:keep], ']')
}
