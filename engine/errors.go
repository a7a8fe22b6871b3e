package engine

import "errors"

// ErrClosed is returned by Flush and Shutdown after the engine has shut
// down, and reported by the error handler for writes refused after it.
var ErrClosed = errors.New("engine: closed")
