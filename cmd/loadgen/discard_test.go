package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
)

func TestDiscardSinkCountsAndCloses(t *testing.T) {
	var d discardSink
	ctx := context.Background()
	n, err := d.Write(ctx, []core.Entry{{Line: []byte("ab\n")}, {Line: []byte("cde\n")}})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, uint64(2), d.Events())
	assert.Equal(t, uint64(7), d.Bytes())

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = d.Write(canceled, []core.Entry{{}})
	assert.ErrorIs(t, err, context.Canceled)

	require.NoError(t, d.Flush(ctx))
	require.NoError(t, d.Close(ctx))
	_, err = d.Write(ctx, nil)
	assert.ErrorIs(t, err, sinks.ErrClosed)
	assert.ErrorIs(t, d.Flush(ctx), sinks.ErrClosed)
	assert.ErrorIs(t, d.Close(ctx), sinks.ErrClosed)
	assert.Equal(t, uint64(2), d.Events(), "counts stay readable")
}
