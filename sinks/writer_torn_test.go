package sinks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

// fullThenFreedDisk models a file on a disk that fills up: the first
// write stores its first `room` bytes and fails with ENOSPC (as write(2)
// does: a short count, then the error), and once space is freed every
// later write succeeds.
type fullThenFreedDisk struct {
	room  int
	full  bool
	bytes bytes.Buffer
}

func (d *fullThenFreedDisk) Write(p []byte) (int, error) {
	if !d.full && len(p) > d.room {
		d.full = true
		d.bytes.Write(p[:d.room])
		return d.room, syscall.ENOSPC
	}
	return d.bytes.Write(p)
}

// A write that fails inside a record (a disk that fills: a short count,
// then ENOSPC) leaves the record's start at the destination. The next
// Write ends that fragment with a newline first, so the record the engine
// retries is a whole line of its own. Mutation caught: no newline (the
// retried record was glued to its own fragment: 2 of 3 records counted
// written were readable).
func TestWriterPartialWriteDoesNotTearTheNextRecord(t *testing.T) {
	disk := &fullThenFreedDisk{}
	w, err := sinks.NewWriter(disk, format.JSON{})
	require.NoError(t, err)

	evs := sinktest.Events(3)
	batch := sinktest.Entries(w, evs)
	first := len(batch[0].Line)
	disk.room = first + len(batch[1].Line)/2 // the disk fills inside record 1

	n, err := w.Write(bg, batch)
	require.Equal(t, 1, n)
	require.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)

	// Space is freed; the engine retries what Write reported unwritten.
	n, err = w.Write(bg, batch[n:])
	require.NoError(t, err)
	require.Equal(t, 2, n)

	// All three records were counted written; each must be one whole line.
	out := strings.Split(strings.TrimSuffix(disk.bytes.String(), "\n"), "\n")
	var whole int
	for _, l := range out {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			whole++
		}
	}
	require.Equal(t, 3, whole, "records counted written but not readable; destination:\n%s", disk.bytes.String())
}

// The same on the console sink's usual destination, a pipe read by a log
// shipper that stalls: the write deadline cuts a record, and the retry
// after the shipper resumes starts on a new line. Mutation caught: as
// above (3 of 4 readable).
func TestConsoleOnAStalledPipeDoesNotTearTheNextRecord(t *testing.T) {
	r, pw, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer pw.Close()
	w, err := sinks.NewConsole(sinks.ConsoleOptions{Out: pw, Encoder: format.JSON{}})
	require.NoError(t, err)

	evs := sinktest.Events(4)
	for i := range evs {
		evs[i].Message = strings.Repeat("x", 25<<10) // 4 records of ~25 KiB
	}
	batch := sinktest.Entries(w, evs)

	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	n, err := w.Write(ctx, batch) // nobody reads: the pipe fills, the deadline passes
	cancel()
	require.Error(t, err)
	require.Less(t, n, len(batch))

	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); got <- b }() // the shipper resumes
	m, err := w.Write(bg, batch[n:])                // the engine's retry
	require.NoError(t, err)
	require.Equal(t, len(batch)-n, m)
	require.NoError(t, pw.Close())
	out := <-got

	var whole int
	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(l), &v) == nil {
			whole++
		}
	}
	require.Equal(t, len(batch), whole, "of %d records counted written, %d are readable lines", len(batch), whole)
}
