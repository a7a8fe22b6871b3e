package shardlog

import "github.com/shardlog/shardlog/engine"

// Handler is a log/slog handler that logs through a Logger; see
// engine.Handler. Handler.Engine reaches the engine for Flush and
// Shutdown after slog.SetDefault.
type Handler = engine.Handler

// HandlerOptions configures NewHandler.
type HandlerOptions = engine.HandlerOptions

// NewHandler returns a slog handler that logs through l.
func NewHandler(l *Logger, opts *HandlerOptions) *Handler { return engine.NewHandler(l, opts) }
