package format

// DefaultTimeFormat is the layout of the event time when an encoder's
// TimeFormat is empty: RFC 3339 with exactly nine fractional digits. The
// fixed width (time.RFC3339Nano trims trailing zeros) keeps the fields that
// follow aligned and makes lines of one offset sort as text in time order.
const DefaultTimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Keys names the entries an encoder writes before an event's fields.
//
// The zero Keys means DefaultKeys(). Any other Keys is used as written, and
// an empty name leaves its entry out; to drop only the time, start from
// DefaultKeys() and clear Time. Keys holds only strings, so encoders stay
// comparable and the engine can recognise two equal encoders.
type Keys struct {
	Time    string // event time; also left out when the time is zero, as slog does
	Level   string // event level, as event.Level.String writes it
	Message string // event message
	Logger  string // logger name; left out for the root logger (empty name)
	Caller  string // "dir/file.go:line" of the call; left out without a PC
}

// DefaultKeys returns the names encoders use when their Keys is zero:
// slog's "time", "level" and "msg", and "logger" and "caller" for the two
// entries slog lacks. The caller is not slog's "source" because its value
// is a "file:line" string, not slog's source object.
func DefaultKeys() Keys {
	return Keys{Time: "time", Level: "level", Message: "msg", Logger: "logger", Caller: "caller"}
}

// isZero reports k == Keys{} without the five string comparisons the
// compiler makes of it: a string is empty exactly when its length is 0.
// The JSON encoder asks once per event (2% of a delivered event's CPU).
func (k Keys) isZero() bool {
	return len(k.Time)|len(k.Level)|len(k.Message)|len(k.Logger)|len(k.Caller) == 0
}

func (k Keys) orDefault() Keys {
	if k.isZero() {
		return DefaultKeys()
	}
	return k
}

func timeLayout(layout string) string {
	if layout == "" {
		return DefaultTimeFormat
	}
	return layout
}
