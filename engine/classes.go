package engine

import (
	"slices"

	"github.com/shardlog/shardlog/core"
)

// levelClasses maps levels to the few classes that matter for routing: the
// sorted distinct minimum levels of the sinks cut the level line into
// len(min)+1 classes, and a sink receives exactly the classes at or above
// its own. Counting per class instead of per sink keeps the caller's
// accounting to one atomic add, however many sinks there are.
type levelClasses struct {
	min []core.Level // sorted, distinct
}

func newLevelClasses(sinks []sinkConfig) levelClasses {
	var m []core.Level
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
