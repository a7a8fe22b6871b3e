package engine

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// WithOverflowAt's rules are ordered by level with a comparison, not a
// subtraction: a level is any int (math.MinInt for "every level"), and
// int(b.min) - int(a.min) wrapped, so the MinInt rule sorted first and
// errors got DropNewest instead of Block. Mutation caught: the
// subtraction.
func TestOverflowAtRulesWithExtremeLevelsSortByLevel(t *testing.T) {
	e, err := New(WithSink(sinks.NewMemory(sinks.MemoryOptions{})),
		WithOverflowAt(core.Level(math.MinInt), ring.DropNewest),
		WithOverflowAt(core.LevelError, ring.Block))
	require.NoError(t, err)
	defer func() { _, _ = e.Shutdown(context.Background()) }()
	require.Equal(t, ring.DropNewest, e.policyFor(core.LevelInfo))
	require.Equal(t, ring.Block, e.policyFor(core.LevelError),
		"WithOverflowAt: the rule with the highest min that applies wins")
}
