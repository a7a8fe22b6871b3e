package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// firstWriteGateSink is a Memory whose first Write waits until open is closed: one
// slow Write.
type firstWriteGateSink struct {
	*sinks.Memory
	once sync.Once
	open chan struct{}
}

func (g *firstWriteGateSink) Write(ctx context.Context, b []core.Entry) (int, error) {
	g.once.Do(func() { <-g.open })
	return g.Memory.Write(ctx, b)
}

// End to end, the stall TestAnUninterestedWriterGetsTheWatermark shows:
// an errors-only sink beside a sink for everything, bursts of one ERROR
// and eleven INFO (so an epoch's last batch holds only INFO), and the
// errors sink inside one slow Write at first. It receives every error,
// and Flush returns. Before the fix it got 1-10 of 35 errors, for good,
// and Flush timed out (8 of 8 runs).
func TestAnErrorsSinkThatFellBehindCatchesUp(t *testing.T) {
	all := sinks.NewMemory(sinks.MemoryOptions{})
	errs := &firstWriteGateSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), open: make(chan struct{})}
	e, err := engine.New(
		engine.WithShards(1), engine.WithCapacity(16), engine.WithBatchSize(8),
		engine.WithSink(all),
		engine.WithSink(errs, engine.SinkLevel(core.LevelError)),
	)
	require.NoError(t, err)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, _ = e.Shutdown(ctx)
	}()
	log := e.Logger()
	sent := 0
	burst := func() {
		log.Error("e")
		for range 11 {
			log.Info("i")
		}
		sent++
		deadline := time.Now().Add(time.Second)
		for all.Len() < 12*sent && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	for range 30 {
		burst()
	}
	close(errs.open) // the slow Write returns
	for range 5 {
		burst()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	ferr := e.Flush(ctx)
	t.Logf("all %d of %d, errors %d of %d, flush: %v", all.Len(), 12*sent, errs.Len(), sent, ferr)
	require.Equal(t, 12*sent, all.Len())
	require.NoError(t, ferr, "Flush: the errors sink works, yet its writer never reaches the watermark")
	require.Equal(t, sent, errs.Len(), "every ERROR reaches the errors sink")
}
