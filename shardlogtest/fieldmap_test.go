package shardlogtest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/shardlogtest"
)

// FieldMap leaves out a group whose members all come to nothing (empty
// fields, empty groups), as the encoders do: log.WithGroup("req").Info(
// "done", shardlog.Err(nil)) has no "req". Mutation caught: leaving out
// only groups with no members (FieldMap said {"req": {}}).
func TestFieldMapLeavesOutGroupsTheEncodersLeaveOut(t *testing.T) {
	log, obs := shardlogtest.New(t)
	log.WithGroup("a").WithGroup("b").Info("nested empty groups")
	log.WithGroup("a").Info("only an empty field", shardlog.Err(nil))
	log.Info("group of an empty field", shardlog.Group("g", shardlog.Err(nil)))
	log.Info("group of an empty group", shardlog.Group("g", shardlog.Group("h")))
	for _, e := range obs.All() {
		require.Empty(t, e.FieldMap(), "%q: the encoders write no field, FieldMap says %v", e.Message, e.FieldMap())
	}
}
