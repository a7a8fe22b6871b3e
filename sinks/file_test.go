package sinks_test

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

func TestNewFileValidates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	for _, tc := range []struct {
		name string
		opts sinks.FileOptions
		want string
	}{
		{"NoPath", sinks.FileOptions{}, "sinks: file: Path must not be empty"},
		{"ModeNotPerm", sinks.FileOptions{Path: path, Mode: fs.ModeSetuid | 0o640}, "sinks: file: Mode must hold permission bits only, got urw-r-----"},
		{"NegativeMaxSizeMB", sinks.FileOptions{Path: path, MaxSizeMB: -1}, "sinks: file: MaxSizeMB must be >= 0, got -1"},
		{"HugeMaxSizeMB", sinks.FileOptions{Path: path, MaxSizeMB: 1 << 40}, "sinks: file: MaxSizeMB must be <= 2147483647, got 1099511627776"},
		{"NegativeMaxAgeDays", sinks.FileOptions{Path: path, MaxAgeDays: -2}, "sinks: file: MaxAgeDays must be >= 0, got -2"},
		{"NegativeMaxBackups", sinks.FileOptions{Path: path, MaxBackups: -3}, "sinks: file: MaxBackups must be >= 0, got -3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "HugeMaxSizeMB" && strconv.IntSize == 32 {
				t.Skip("the value does not fit an int")
			}
			f, err := sinks.NewFile(tc.opts)
			require.EqualError(t, err, tc.want)
			require.Nil(t, f)
		})
	}
	require.NoFileExists(t, path, "a rejected configuration created the file")
}

func TestNewFileReportsOpenError(t *testing.T) {
	dir := t.TempDir()
	_, err := sinks.NewFile(sinks.FileOptions{Path: dir}) // a directory
	require.ErrorContains(t, err, "sinks: file: ")
	require.ErrorContains(t, err, dir)
}

func TestFileConformance(t *testing.T) {
	t.Run("Plain", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
			path := filepath.Join(t.TempDir(), "app.log")
			f, err := sinks.NewFile(sinks.FileOptions{Path: path})
			require.NoError(t, err)
			return f, func() []string { return sinktest.ReadLines(t, path) }
		}, sinktest.WithFormat(sinktest.JSONLines))
	})
	t.Run("Rotating", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
			dir := t.TempDir()
			f, err := sinks.NewFile(sinks.FileOptions{
				Path:        filepath.Join(dir, "app.log"),
				MaxSizeMB:   4, // room for LargeEvent's 1 MiB record
				MaxBackups:  3,
				SyncOnFlush: true,
			})
			require.NoError(t, err)
			return f, func() []string { return readRotated(t, dir, "app.log") }
		}, sinktest.WithFormat(sinktest.JSONLines))
	})
	t.Run("PlainText", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
			path := filepath.Join(t.TempDir(), "app.log")
			f, err := sinks.NewFile(sinks.FileOptions{Path: path, Encoder: format.Text{}, SyncOnFlush: true})
			require.NoError(t, err)
			return f, func() []string { return sinktest.ReadLines(t, path) }
		})
	})
}

// readRotated returns the records of the backups of name in dir, oldest
// first and gunzipped, then those of the current file.
func readRotated(t *testing.T, dir, name string) []string {
	t.Helper()
	var all []string
	for _, b := range backups(t, dir, name) {
		data := readMaybeGzip(t, filepath.Join(dir, b))
		all = append(all, sinktest.SplitLines(data)...)
	}
	return append(all, sinktest.ReadLines(t, filepath.Join(dir, name))...)
}

// backups returns the names of the backups of name in dir, oldest first
// (their names embed the time of rotation).
func backups(t *testing.T, dir, name string) []string {
	t.Helper()
	ext := filepath.Ext(name)
	prefix := strings.TrimSuffix(name, ext) + "-"
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, prefix) && (strings.HasSuffix(n, ext) || strings.HasSuffix(n, ext+".gz")) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func readMaybeGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		r = zr
	}
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	return data
}

// umasked returns mode as the process umask lets a new file have it,
// found by creating a file with every permission.
func umasked(t *testing.T, mode fs.FileMode) fs.FileMode {
	t.Helper()
	probe := filepath.Join(t.TempDir(), "probe")
	require.NoError(t, os.WriteFile(probe, nil, 0o777))
	fi, err := os.Stat(probe)
	require.NoError(t, err)
	return mode & fi.Mode().Perm()
}

func requireMode(t *testing.T, want fs.FileMode, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, want, fi.Mode().Perm(), "mode of %s", path)
}

func TestNewFileCreatesWithMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, tc := range []struct {
		name     string
		mode     fs.FileMode
		rotating bool
		want     fs.FileMode
	}{
		{"Default", 0, false, 0o640},
		{"DefaultRotating", 0, true, 0o640},
		{"Explicit", 0o600, false, 0o600},
		{"ExplicitRotating", 0o604, true, 0o604},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "b")
			path := filepath.Join(dir, "app.log")
			opts := sinks.FileOptions{Path: path, Mode: tc.mode}
			if tc.rotating {
				opts.MaxBackups = 5
			}
			f, err := sinks.NewFile(opts)
			require.NoError(t, err)
			defer f.Close(bg)
			requireMode(t, umasked(t, tc.want), path)
			requireMode(t, umasked(t, 0o750), dir)

			// Writing, through lumberjack when rotating, keeps the mode.
			_, err = f.Write(bg, sinktest.Entries(f, sinktest.Events(1)))
			require.NoError(t, err)
			requireMode(t, umasked(t, tc.want), path)
		})
	}
}

func TestNewFileKeepsExistingFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, rotating := range []bool{false, true} {
		t.Run(map[bool]string{false: "Plain", true: "Rotating"}[rotating], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			require.NoError(t, os.WriteFile(path, []byte("earlier\n"), 0o600))
			require.NoError(t, os.Chmod(path, 0o604)) // a mode no default gives
			f, err := sinks.NewFile(sinks.FileOptions{Path: path, Mode: 0o640, MaxBackups: map[bool]int{true: 1}[rotating]})
			require.NoError(t, err)
			evs := sinktest.Events(1)
			_, err = f.Write(bg, sinktest.Entries(f, evs))
			require.NoError(t, err)
			require.NoError(t, f.Close(bg))
			requireMode(t, 0o604, path)
			lines := sinktest.ReadLines(t, path)
			require.Len(t, lines, 2)
			require.Equal(t, "earlier", lines[0], "the file was truncated")
			require.Contains(t, lines[1], sinktest.Message(0))
		})
	}
}

// bigEvents returns n events whose JSON records are about 64 KiB each.
func bigEvents(n int) []core.Event {
	evs := sinktest.Events(n)
	pad := strings.Repeat("x", 64<<10-400)
	for i := range evs {
		evs[i].Message += " " + pad
	}
	return evs
}

// writeBatches writes evs in batches of size, pausing between them: the
// backups' names have millisecond resolution, and two rotations within one
// millisecond would give the second backup the first one's name.
func writeBatches(t *testing.T, f *sinks.File, evs []core.Event, size int) {
	t.Helper()
	for i := 0; i < len(evs); i += size {
		b := evs[i:min(i+size, len(evs))]
		n, err := f.Write(bg, sinktest.Entries(f, b))
		require.NoError(t, err)
		require.Equal(t, len(b), n)
		time.Sleep(3 * time.Millisecond)
	}
}

// requireRun requires lines to hold the records of events from to to-1.
func requireRun(t *testing.T, lines []string, from, to int) {
	t.Helper()
	require.Len(t, lines, to-from)
	for j, line := range lines {
		require.True(t, strings.HasPrefix(line, "{"), "record %d is not JSON", j)
		require.Contains(t, line, sinktest.Message(from+j))
	}
}

// TestFileRotatesBySize writes five batches of about 1 MiB into files of
// 1 MiB: every batch after the first starts a new file, and only the two
// newest backups are kept.
func TestFileRotatesBySize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f, err := sinks.NewFile(sinks.FileOptions{Path: path, MaxSizeMB: 1, MaxBackups: 2})
	require.NoError(t, err)
	const perBatch = 15 // fit a 1 MiB file; the next batch's first write does not
	writeBatches(t, f, bigEvents(5*perBatch), perBatch)
	require.NoError(t, f.Close(bg))

	// Pruning runs in lumberjack's background goroutine.
	require.Eventually(t, func() bool { return len(backups(t, dir, "app.log")) == 2 }, 5*time.Second, 10*time.Millisecond)
	for _, b := range backups(t, dir, "app.log") {
		fi, err := os.Stat(filepath.Join(dir, b))
		require.NoError(t, err)
		require.LessOrEqual(t, fi.Size(), int64(1<<20))
		if runtime.GOOS != "windows" {
			requireMode(t, umasked(t, 0o640), filepath.Join(dir, b))
		}
	}
	if runtime.GOOS != "windows" {
		requireMode(t, umasked(t, 0o640), path) // the file started by rotation
	}
	requireRun(t, readRotated(t, dir, "app.log"), 2*perBatch, 5*perBatch)
}

func TestFileCompressesBackups(t *testing.T) {
	dir := t.TempDir()
	f, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(dir, "app.log"), MaxSizeMB: 1, Compress: true})
	require.NoError(t, err)
	const perBatch = 15
	writeBatches(t, f, bigEvents(3*perBatch), perBatch)
	require.NoError(t, f.Close(bg))

	// Compression runs in the background; a backup is removed only after
	// its .gz is complete.
	require.Eventually(t, func() bool {
		bs := backups(t, dir, "app.log")
		return len(bs) == 2 && strings.HasSuffix(bs[0], ".gz") && strings.HasSuffix(bs[1], ".gz")
	}, 5*time.Second, 10*time.Millisecond)
	requireRun(t, readRotated(t, dir, "app.log"), 0, 3*perBatch)
}

func TestFileRotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f, err := sinks.NewFile(sinks.FileOptions{Path: path, MaxBackups: 5})
	require.NoError(t, err)
	evs := sinktest.Events(4)
	_, err = f.Write(bg, sinktest.Entries(f, evs[:2]))
	require.NoError(t, err)
	require.NoError(t, f.Rotate())
	_, err = f.Write(bg, sinktest.Entries(f, evs[2:]))
	require.NoError(t, err)
	require.NoError(t, f.Close(bg))

	bs := backups(t, dir, "app.log")
	require.Len(t, bs, 1)
	requireRun(t, sinktest.ReadLines(t, filepath.Join(dir, bs[0])), 0, 2)
	requireRun(t, sinktest.ReadLines(t, path), 2, 4)
	if runtime.GOOS != "windows" {
		requireMode(t, umasked(t, 0o640), path)
	}
	require.ErrorIs(t, f.Rotate(), sinks.ErrClosed)
	require.Len(t, backups(t, dir, "app.log"), 1, "Rotate after Close rotated")
}

// TestFileRotateWhileWriting rotates from another goroutine while the
// engine's goroutine writes; no record is lost or reordered.
func TestFileRotateWhileWriting(t *testing.T) {
	dir := t.TempDir()
	f, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(dir, "app.log"), MaxBackups: 100})
	require.NoError(t, err)
	done := make(chan error)
	go func() {
		var err error
		for range 4 {
			time.Sleep(3 * time.Millisecond) // distinct backup names
			err = errors.Join(err, f.Rotate())
		}
		done <- err
	}()
	evs := sinktest.Events(200)
	for i := 0; i < len(evs); i += 10 {
		_, err := f.Write(bg, sinktest.Entries(f, evs[i:i+10]))
		require.NoError(t, err)
		time.Sleep(200 * time.Microsecond)
	}
	require.NoError(t, <-done)
	require.NoError(t, f.Close(bg))
	require.Len(t, backups(t, dir, "app.log"), 4)
	requireRun(t, readRotated(t, dir, "app.log"), 0, len(evs))
}

// Rotations faster than one a millisecond, by Rotate and by size, keep
// every record: lumberjack names a backup to the millisecond and renames
// over an existing one. Mutation caught: rotating without waiting for a
// free name (sinks/rotation.go): the backups of one millisecond overwrite
// each other and their records are lost (found by the stress suite).
func TestFileRotationsWithinOneMillisecondKeepEveryRecord(t *testing.T) {
	dir := t.TempDir()
	f, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(dir, "app.log"), MaxSizeMB: 1})
	require.NoError(t, err)
	evs := sinktest.Events(20)
	for i := 0; i < len(evs); i += 2 {
		_, err := f.Write(bg, sinktest.Entries(f, evs[i:i+2]))
		require.NoError(t, err)
		require.NoError(t, f.Rotate())
	}
	const perBatch = 15 // about 1 MiB: each batch after the first rotates by size
	big := bigEvents(4 * perBatch)
	writeBatches(t, f, big, perBatch)
	require.NoError(t, f.Close(bg))
	require.Len(t, backups(t, dir, "app.log"), 10+3)
	lines := readRotated(t, dir, "app.log")
	requireRun(t, lines[:len(evs)], 0, len(evs))
	require.Len(t, lines, len(evs)+len(big))
}

func TestFileRotateNeedsRotation(t *testing.T) {
	f, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(t.TempDir(), "app.log")})
	require.NoError(t, err)
	defer f.Close(bg)
	require.EqualError(t, f.Rotate(), "sinks: file: Rotate needs rotation: set MaxSizeMB, MaxAgeDays, MaxBackups or Compress")
}

// TestFileRecordLargerThanMaxSize: such a record cannot be written, and
// the batch stops there.
func TestFileRecordLargerThanMaxSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	f, err := sinks.NewFile(sinks.FileOptions{Path: path, MaxSizeMB: 1})
	require.NoError(t, err)
	defer f.Close(bg)
	evs := sinktest.Events(3)
	evs[1].Message = strings.Repeat("x", 1<<20)
	n, err := f.Write(bg, sinktest.Entries(f, evs))
	require.Equal(t, 1, n)
	require.ErrorContains(t, err, "sinks: file: ")
	requireRun(t, sinktest.ReadLines(t, path), 0, 1)
}

func TestFileDefaultsToJSON(t *testing.T) {
	f, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(t.TempDir(), "app.log")})
	require.NoError(t, err)
	defer f.Close(bg)
	require.Equal(t, core.Encoder(format.JSON{}), f.Encoder())
}

func TestFileCloseWithDoneContextReleasesFile(t *testing.T) {
	for _, rotating := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "app.log")
		f, err := sinks.NewFile(sinks.FileOptions{Path: path, SyncOnFlush: true, Compress: rotating})
		require.NoError(t, err)
		_, err = f.Write(bg, sinktest.Entries(f, sinktest.Events(1)))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(bg)
		cancel()
		require.ErrorIs(t, f.Close(ctx), context.Canceled, "the skipped fsync is reported")
		_, err = f.Write(bg, sinktest.Entries(f, sinktest.Events(1)))
		require.ErrorIs(t, err, sinks.ErrClosed)
		require.Len(t, sinktest.ReadLines(t, path), 1)
	}
}

// A record larger than MaxSizeMB is refused with core.ErrRejected, alone:
// Write reports the records before it written, and the records after it
// are taken by the next Write. Under the engine that is the one event
// lost (failed, reported) while the events around it reach the file;
// before, it cost its whole batch (256 events here), three attempts each.
func TestARecordTooLargeForTheFileCostsOnlyItself(t *testing.T) {
	dir := t.TempDir()
	f, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(dir, "app.log"), MaxSizeMB: 1})
	require.NoError(t, err)
	var reported atomic.Value
	e, err := shardlog.New(shardlog.WithSink(f, shardlog.SinkName("file")), shardlog.WithMaxEventBytes(4<<20),
		shardlog.WithErrorHandler(func(err error) { reported.Store(err) }))
	require.NoError(t, err)
	const n = 300
	for i := range n {
		if i == n/2 {
			e.Logger().Info(strings.Repeat("x", 2<<20))
		}
		e.Logger().Info("small", shardlog.Int("i", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := e.Shutdown(ctx)
	require.NoError(t, err)
	st := rep.Sinks[0]
	require.Equal(t, uint64(1), st.Failed, "%+v", st)
	require.Equal(t, uint64(n), st.Written)
	require.Zero(t, st.Retries)
	require.Zero(t, st.Dropped.Total())
	require.ErrorIs(t, reported.Load().(error), core.ErrRejected)
	require.ErrorContains(t, reported.Load().(error), "larger than MaxSizeMB")
	var lines int
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, fi := range files {
		b, err := os.ReadFile(filepath.Join(dir, fi.Name()))
		require.NoError(t, err)
		lines += strings.Count(string(b), `"msg":"small"`)
	}
	require.Equal(t, n, lines, "every small event is in the file")
}

// At the sink's own level: [small, too large, small] writes one record
// and rejects the second; the third goes with the next Write.
func TestFileRejectsARecordLargerThanMaxSize(t *testing.T) {
	dir := t.TempDir()
	f, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(dir, "app.log"), MaxSizeMB: 1})
	require.NoError(t, err)
	defer f.Close(context.Background())
	line := func(s string) core.Entry {
		return core.Entry{Event: &core.Event{Message: "m"}, Line: []byte(s + "\n")}
	}
	batch := []core.Entry{line("first"), line(strings.Repeat("x", 1<<20)), line("third")}
	n, err := f.Write(context.Background(), batch)
	require.Equal(t, 1, n)
	require.ErrorIs(t, err, core.ErrRejected)
	n, err = f.Write(context.Background(), batch[2:])
	require.NoError(t, err)
	require.Equal(t, 1, n)
	b, err := os.ReadFile(filepath.Join(dir, "app.log"))
	require.NoError(t, err)
	require.Equal(t, "first\nthird\n", string(b))
}
