package sinks

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/shardlog/shardlog/core"
)

// rotatingFile stands between a File's Writer and lumberjack and decides
// the size rotations itself (lumberjack's own MaxSize is set out of
// reach). lumberjack names a backup after the time of its rotation, to
// the millisecond, and renames the file over any backup of that name: two
// rotations within one millisecond (a writer draining a backlog writes a
// megabyte in less) lost the first backup's lines, which had been counted
// written (found by the stress suite). So a rotation waits until its
// backup's name is free: until the millisecond of the last rotation has
// passed, and no file of the name it would take exists.
type rotatingFile struct {
	lj     *lumberjack.Logger
	max    int64 // bytes; a write that would pass it rotates first
	prefix string
	ext    string
	local  bool

	mu   sync.Mutex // Rotate may come from any goroutine
	size int64      // bytes in the current file
	last time.Time  // when the last rotation ended
}

// backupTimeFormat is lumberjack v2's layout for the time in a backup's
// name ("<prefix>-<time><ext>").
const backupTimeFormat = "2006-01-02T15-04-05.000"

func newRotatingFile(path string, maxSizeMB int, size int64, lj *lumberjack.Logger) *rotatingFile {
	ext := filepath.Ext(path)
	max := int64(math.MaxInt64)
	if maxSizeMB > 0 {
		max = int64(maxSizeMB) << 20
	}
	lj.MaxSize = maxFileSizeMB // lumberjack reads zero as 100 MB
	return &rotatingFile{lj: lj, max: max, prefix: path[:len(path)-len(ext)], ext: ext,
		local: lj.LocalTime, size: size}
}

// Write writes p to the current file, rotating first if p would take it
// past the size limit. A p larger than the limit is refused, as
// lumberjack refuses it, with core.ErrRejected: the Writer hands this
// file at most maxChunk bytes of several records at once (less than the
// smallest limit, 1 MiB), so such a p is one record, and no file of this
// size can take it.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if int64(len(p)) > r.max {
		return 0, fmt.Errorf("record of %d bytes is larger than MaxSizeMB (%d bytes): %w", len(p), r.max, core.ErrRejected)
	}
	if r.size > 0 && r.size+int64(len(p)) > r.max {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.lj.Write(p)
	r.size += int64(n)
	return n, err
}

// Rotate starts a new file now.
func (r *rotatingFile) Rotate() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rotate()
}

// Close closes the current file.
func (r *rotatingFile) Close() error { return r.lj.Close() }

// rotate waits for a free backup name and rotates. Under r.mu.
func (r *rotatingFile) rotate() error {
	for {
		now := time.Now()
		if now.UnixMilli() != r.last.UnixMilli() && !r.backupExists(now) {
			break
		}
		time.Sleep(time.Millisecond - time.Duration(now.Nanosecond()%1e6))
	}
	err := r.lj.Rotate()
	r.last = time.Now()
	if err != nil {
		return err
	}
	r.size = 0
	return nil
}

// backupExists reports whether a rotation at t would find its backup's
// name taken (compressed or not): a backup of the same millisecond from
// before a restart, or after the clock stepped back.
func (r *rotatingFile) backupExists(t time.Time) bool {
	if !r.local {
		t = t.UTC()
	}
	name := r.prefix + "-" + t.Format(backupTimeFormat) + r.ext
	for _, n := range [...]string{name, name + ".gz"} {
		if _, err := os.Lstat(n); err == nil {
			return true
		}
	}
	return false
}
