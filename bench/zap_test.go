package bench

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapPeer is zap's fastest lossless setup for a busy service: the
// production JSON encoder (no sampling: the core is built directly, not
// with zap.NewProduction) behind a zapcore.BufferedWriteSyncer with its
// defaults (256 kB buffer, 30 s flush interval). A log call encodes on
// the caller's goroutine and copies into the buffer under its mutex; a
// full buffer is written by the call that filled it. Sync delivers: it
// flushes the buffer.
var zapPeer = peer{
	name:      "zap",
	lossless:  true,
	exactLoss: true,
	format: format{
		timeKey: "ts", levelKey: "level", level: "info", msgKey: "msg",
		took: secondsFloat,      // zapcore.SecondsDurationEncoder
		when: epochSecondsFloat, // zapcore.EpochTimeEncoder
	},
	build: newZap,
}

func newZap(out *lineCounter) (*subject, error) {
	ws := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(out)}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	l := zap.New(zapcore.NewCore(enc, ws, zapcore.InfoLevel))
	return &subject{
		out: out,
		log: func(i int) {
			l.Info(eventMessage, zap.String("method", eventMethod), zap.Int("status", eventStatus),
				zap.Duration("took", eventTook), zap.Int("bytes", i), zap.Bool("cached", eventCached))
		},
		deliver: l.Sync,
		lost:    func() int64 { return 0 },
		close:   func() { _ = ws.Stop() },
	}, nil
}
