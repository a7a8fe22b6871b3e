package engine

import (
	"slices"

	"github.com/shardlog/shardlog/core"
)

// levelClasses maps levels to the few classes that matter for routing and
// metrics: the sorted distinct minimum levels of the sinks, and the named
// levels, cut the level line into len(min)+1 classes. A sink receives
// exactly the classes at or above its own, and metrics report acceptance
// per class, so per named level. Counting per class instead of per sink
// keeps the caller's accounting to one atomic add, however many sinks
// there are.
type levelClasses struct {
	min []core.Level // sorted, distinct
}

func newLevelClasses(sinks []sinkConfig) levelClasses {
	m := []core.Level{core.LevelTrace, core.LevelDebug, core.LevelInfo, core.LevelWarn, core.LevelError, core.LevelFatal}
	for _, s := range sinks {
		m = append(m, s.minLevel)
	}
	slices.Sort(m)
	return levelClasses{min: slices.Compact(m)}
}

// of returns the class of l: how many sink minimums are <= l.
func (c *levelClasses) of(l core.Level) int {
	n := 0
	for _, m := range c.min {
		if l < m {
			break
		}
		n++
	}
	return n
}

// count is the number of classes.
func (c *levelClasses) count() int { return len(c.min) + 1 }

// label names class k by the lowest level it holds ("<TRACE" for levels
// below every boundary).
func (c *levelClasses) label(k int) string {
	if k == 0 {
		return "<" + c.min[0].String()
	}
	return c.min[k-1].String()
}
