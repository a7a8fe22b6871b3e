package sinks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// DefaultFileMode is the permission NewFile creates a file with when
// FileOptions.Mode is zero: owner read-write, group read.
const DefaultFileMode fs.FileMode = 0o640

// maxFileSizeMB bounds FileOptions.MaxSizeMB so that the size in bytes
// fits an int64 on every platform; it also stands for "no size limit".
const maxFileSizeMB = math.MaxInt32

// FileOptions configures NewFile. Only Path is required.
type FileOptions struct {
	// Path is the file to append to. Its directory is created, with mode
	// 0750, if missing.
	Path string
	// Mode is the permission a new file is created with, before the
	// process umask, as for os.OpenFile; zero means DefaultFileMode. An
	// existing file keeps its mode. With rotation every new file takes the
	// mode of the file it replaces, so all of them share the first one's.
	Mode fs.FileMode
	// Encoder encodes the events; nil means format.JSON{}.
	Encoder core.Encoder

	// MaxSizeMB rotates the file before a write would take it past this
	// many mebibytes; zero means no size limit. A single record larger
	// than the limit cannot be written: Write refuses it alone
	// (core.ErrRejected), so under the engine that event fails and the
	// events around it are written.
	MaxSizeMB int
	// MaxAgeDays removes backups whose name dates them more than this
	// many days back; zero keeps them regardless of age.
	MaxAgeDays int
	// MaxBackups is how many backups to keep, the newest; zero keeps all
	// (subject to MaxAgeDays).
	MaxBackups int
	// Compress gzips backups (adding ".gz" to their names).
	Compress bool
	// LocalTime dates backup names in local time instead of UTC.
	LocalTime bool

	// SyncOnFlush makes Flush and Close fsync the file, so that what was
	// written survives a machine crash, at the cost of a disk round trip
	// per flush. Off by default: the data is with the kernel after every
	// Write, which survives the process crashing. With rotation, a
	// backup renamed away since the last flush is not synced again.
	SyncOnFlush bool
}

// File is a core.Sink that appends encoded events to a file, optionally
// rotating it.
//
// Without rotation options (MaxSizeMB, MaxAgeDays, MaxBackups and Compress
// all zero) File writes to the file directly, one write call per batch (see
// Writer). With any of them it writes through a lumberjack.Logger
// (gopkg.in/natefinch/lumberjack.v2): when a write would pass MaxSizeMB,
// or when Rotate is called, the file is renamed to a backup named
// "<name>-<UTC time><ext>" beside it and a new one started (a rotation
// waits, at most a millisecond, until that name is free: lumberjack would
// rename over a backup of the same millisecond); backups are
// then pruned by MaxBackups and MaxAgeDays and compressed, in the
// background. Records are never split between files. lumberjack's
// background goroutine outlives Close (lumberjack v2.2.1 never stops it).
//
// The engine calls Write, Flush and Close from one goroutine at a time;
// Rotate may be called from any goroutine. After Close every method,
// Close included, returns ErrClosed.
type File struct {
	w  *Writer
	rf *rotatingFile // nil without rotation

	// mu serialises Rotate, which any goroutine may call, with Close, so
	// that a Rotate never reopens a closed file.
	mu     sync.Mutex
	closed bool // guarded by mu
}

var (
	_ core.Sink     = (*File)(nil)
	_ core.Encoding = (*File)(nil)
)

// NewFile opens or creates the file at opts.Path for appending and returns
// a File sink writing to it. The file is opened here, so an unwritable path
// fails now rather than at the first Write.
func NewFile(opts FileOptions) (*File, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	mode := opts.Mode
	if mode == 0 {
		mode = DefaultFileMode
	}
	enc := opts.Encoder
	if enc == nil {
		enc = format.JSON{}
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o750); err != nil {
		return nil, fmt.Errorf("sinks: file: %w", err)
	}
	// Created here even when lumberjack will write it: lumberjack creates
	// files 0600, but keeps the mode of a file that exists, on rotation
	// too.
	f, err := os.OpenFile(opts.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, mode)
	if err != nil {
		return nil, fmt.Errorf("sinks: file: %w", err)
	}

	if !opts.rotating() {
		w := newWriter("file", f, enc)
		w.closer = f
		w.deadline = nil // a regular file takes no deadline
		if !opts.SyncOnFlush {
			w.syncer = nil
		}
		return &File{w: w}, nil
	}

	info, err := f.Stat()
	if err := errors.Join(err, f.Close()); err != nil {
		return nil, fmt.Errorf("sinks: file: %w", err)
	}
	lj := &lumberjack.Logger{
		Filename:   opts.Path,
		MaxAge:     opts.MaxAgeDays,
		MaxBackups: opts.MaxBackups,
		LocalTime:  opts.LocalTime,
		Compress:   opts.Compress,
	}
	rf := newRotatingFile(opts.Path, opts.MaxSizeMB, info.Size(), lj)
	w := newWriter("file", rf, enc)
	w.closer = rf
	if opts.SyncOnFlush {
		w.syncer = pathSyncer(opts.Path)
	}
	return &File{w: w, rf: rf}, nil
}

func (o *FileOptions) validate() error {
	switch {
	case o.Path == "":
		return errors.New("sinks: file: Path must not be empty")
	case o.Mode&^fs.ModePerm != 0:
		return fmt.Errorf("sinks: file: Mode must hold permission bits only, got %v", o.Mode)
	case o.MaxSizeMB < 0:
		return fmt.Errorf("sinks: file: MaxSizeMB must be >= 0, got %d", o.MaxSizeMB)
	case o.MaxSizeMB > maxFileSizeMB:
		return fmt.Errorf("sinks: file: MaxSizeMB must be <= %d, got %d", maxFileSizeMB, o.MaxSizeMB)
	case o.MaxAgeDays < 0:
		return fmt.Errorf("sinks: file: MaxAgeDays must be >= 0, got %d", o.MaxAgeDays)
	case o.MaxBackups < 0:
		return fmt.Errorf("sinks: file: MaxBackups must be >= 0, got %d", o.MaxBackups)
	}
	return nil
}

func (o *FileOptions) rotating() bool {
	return o.MaxSizeMB > 0 || o.MaxAgeDays > 0 || o.MaxBackups > 0 || o.Compress
}

// pathSyncer fsyncs the file at its path. lumberjack does not expose its
// *os.File; fsync through a second descriptor flushes the same file.
type pathSyncer string

// Sync opens the path and fsyncs it.
func (p pathSyncer) Sync() error {
	f, err := os.OpenFile(string(p), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// Encoder returns the File's encoder.
func (f *File) Encoder() core.Encoder { return f.w.Encoder() }

// Write appends the batch to the file; see core.Sink and Writer.
func (f *File) Write(ctx context.Context, batch []core.Entry) (int, error) {
	return f.w.Write(ctx, batch)
}

// Flush fsyncs the file when SyncOnFlush is set; otherwise there is
// nothing to flush, since File keeps nothing between batches.
func (f *File) Flush(ctx context.Context) error { return f.w.Flush(ctx) }

// Close flushes as Flush does and closes the file. It closes the file even
// when ctx is done, skipping the flush. A second Close returns ErrClosed.
func (f *File) Close(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return f.w.Close(ctx)
}

// Rotate starts a new file now, whatever its size, as a write past
// MaxSizeMB would: for rotation on a signal or a schedule. It fails
// unless one of the rotation options is set. It is safe to call from any
// goroutine, concurrently with the engine's Write.
func (f *File) Rotate() error {
	if f.rf == nil {
		return errors.New("sinks: file: Rotate needs rotation: set MaxSizeMB, MaxAgeDays, MaxBackups or Compress")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	if err := f.rf.Rotate(); err != nil {
		return fmt.Errorf("sinks: file: rotate: %w", err)
	}
	return nil
}
