package core_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
)

// An offset that would wrap the level around is refused:
// "FATAL+9223372036854775796" parsed as the lowest level there is, so a
// request meant to silence logging through LevelVar.ServeHTTP enabled
// every level. Mutation caught: no range check.
func TestParseLevelRefusesOffsetsThatOverflow(t *testing.T) {
	for _, in := range []string{"FATAL+9223372036854775796", "TRACE-9223372036854775808", "error+9223372036854775807"} {
		l, err := core.ParseLevel(in)
		require.Error(t, err, "%q parsed as %d (%s)", in, int(l), l)
	}
}

// A JSON body that names the level twice ("level" twice, or "level" and
// "LEVEL", which encoding/json matches ignoring case) answers 400 and
// leaves the level unchanged, as a form body and the URL query do.
// Mutation caught: json.Unmarshal into a struct (the last one won).
func TestLevelVarServeHTTPRefusesJSONLevelTwice(t *testing.T) {
	for _, body := range []string{`{"level":"debug","level":"error"}`, `{"level":"debug","LEVEL":"error"}`} {
		var v core.LevelVar
		v.Set(core.LevelWarn)
		rec := serve(&v, http.MethodPut, "/", "application/json", body)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s answered %s", body, rec.Body.String())
		require.Equal(t, core.LevelWarn, v.Level(), "%s changed the level", body)
	}
}
