package drain

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleReport has one of each kind of step.
func sampleReport() Report {
	started := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	return Report{
		Strategy:    Graceful(2 * time.Second),
		Started:     started,
		Duration:    2005 * time.Millisecond,
		Deadline:    started.Add(2 * time.Second),
		DeadlineHit: true,
		Handlers: []Step{
			{Name: "close db", Duration: 12 * time.Millisecond},
			{Name: "flush cache", Duration: 3 * time.Millisecond, Err: errors.New("cache: connection refused")},
			{Name: "stuck rpc", Duration: 2005 * time.Millisecond, TimedOut: true, Abandoned: true},
		},
		Stages: []Step{
			{Name: "stop intake", Duration: 40 * time.Microsecond},
			{Name: "drain shards", Duration: 1500 * time.Millisecond},
			{Name: "deliver held", Duration: 2001 * time.Millisecond, Err: context.DeadlineExceeded, TimedOut: true},
			{Name: "flush sinks", Duration: time.Millisecond, Err: errors.New("panic: nil sink"), Panicked: true},
			{Name: "close sinks", Duration: 4 * time.Millisecond, Abandoned: true},
			{Name: "after close", Skipped: true},
		},
		Accounts: []AccountReport{
			{Name: "file", Delivered: 1200, Failed: 2, Dropped: map[string]uint64{"overflow": 30, "deadline": 5}},
			{Name: "net", Pending: 17, Stuck: true},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./drain -run %s -update to create it", t.Name())
	assert.Equal(t, string(want), string(got))
}

func TestReportStringGolden(t *testing.T) {
	golden(t, "report.txt", []byte(sampleReport().String()+"\n"))
}

func TestReportJSONGolden(t *testing.T) {
	b, err := json.MarshalIndent(sampleReport(), "", "  ")
	require.NoError(t, err)
	golden(t, "report.json", append(b, '\n'))
}

func TestReportJSONFields(t *testing.T) {
	b, err := json.Marshal(sampleReport())
	require.NoError(t, err)

	var got struct {
		Strategy    Strategy  `json:"strategy"`
		Started     time.Time `json:"started"`
		Duration    string    `json:"duration"`
		DurationNS  int64     `json:"duration_ns"`
		Deadline    time.Time `json:"deadline"`
		DeadlineHit bool      `json:"deadline_hit"`
		Handlers    []struct {
			Name       string  `json:"name"`
			Duration   string  `json:"duration"`
			DurationNS int64   `json:"duration_ns"`
			Err        *string `json:"error"`
			Panicked   bool    `json:"panicked"`
			TimedOut   bool    `json:"timed_out"`
			Abandoned  bool    `json:"abandoned"`
			Skipped    bool    `json:"skipped"`
		} `json:"handlers"`
		Stages   []map[string]any `json:"stages"`
		Accounts []AccountReport  `json:"accounts"`
		Lost     uint64           `json:"lost"`
		Clean    bool             `json:"clean"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	want := sampleReport()
	assert.Equal(t, want.Strategy, got.Strategy)
	assert.True(t, want.Started.Equal(got.Started))
	assert.Equal(t, "2.005s", got.Duration)
	assert.Equal(t, int64(2005*time.Millisecond), got.DurationNS)
	assert.True(t, want.Deadline.Equal(got.Deadline))
	assert.True(t, got.DeadlineHit)
	require.Len(t, got.Handlers, 3)
	for i, h := range got.Handlers {
		w := want.Handlers[i]
		assert.Equal(t, w.Name, h.Name)
		d, err := time.ParseDuration(h.Duration)
		require.NoError(t, err)
		assert.Equal(t, w.Duration, d)
		assert.Equal(t, int64(w.Duration), h.DurationNS)
		if w.Err == nil {
			assert.Nil(t, h.Err, "omitted when nil")
		} else {
			require.NotNil(t, h.Err)
			assert.Equal(t, w.Err.Error(), *h.Err)
		}
		assert.Equal(t, w.TimedOut, h.TimedOut)
		assert.Equal(t, w.Abandoned, h.Abandoned)
	}
	require.Len(t, got.Stages, 6)
	assert.Equal(t, "context deadline exceeded", got.Stages[2]["error"])
	assert.Equal(t, true, got.Stages[3]["panicked"])
	assert.Equal(t, true, got.Stages[5]["skipped"])
	assert.Equal(t, want.Accounts, got.Accounts)
	assert.Equal(t, uint64(2+30+5+17), got.Lost)
	assert.False(t, got.Clean)
}

func TestEmptyReportJSON(t *testing.T) {
	b, err := json.Marshal(Report{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"strategy":"flush-pending","started":"0001-01-01T00:00:00Z","duration":"0s",
		"duration_ns":0,"deadline_hit":false,"handlers":[],"stages":[],"accounts":[],"lost":0,"clean":true}`, string(b))
	assert.Equal(t, "drain flush-pending: started 0001-01-01T00:00:00Z, took 0s\n"+
		"deadline: none\nhandlers: none\nstages: none\naccounts: none\nlost: 0", Report{}.String())
}

func TestLostAndClean(t *testing.T) {
	assert.True(t, Report{}.Clean())
	ok := Report{Handlers: []Step{{Name: "h"}}, Stages: []Step{{Name: "s"}}, Accounts: []AccountReport{{Name: "a", Delivered: 5}}}
	assert.True(t, ok.Clean())
	assert.Zero(t, ok.Lost())

	for name, mutate := range map[string]func(*Report){
		"deadline hit":   func(r *Report) { r.DeadlineHit = true },
		"handler failed": func(r *Report) { r.Handlers[0].Err = errHandler },
		"stage panicked": func(r *Report) { r.Stages[0].Panicked, r.Stages[0].Err = true, errors.New("panic: x") },
		"timed out":      func(r *Report) { r.Stages[0].TimedOut = true },
		"abandoned":      func(r *Report) { r.Handlers[0].Abandoned = true },
		"skipped":        func(r *Report) { r.Stages[0].Skipped = true },
		"failed":         func(r *Report) { r.Accounts[0].Failed = 1 },
		"dropped":        func(r *Report) { r.Accounts[0].Dropped = map[string]uint64{"overflow": 1} },
		"pending":        func(r *Report) { r.Accounts[0].Pending = 1 },
		"stuck":          func(r *Report) { r.Accounts[0].Stuck = true },
	} {
		r := ok.clone()
		mutate(&r)
		assert.False(t, r.Clean(), name)
	}

	r := Report{Accounts: []AccountReport{
		{Failed: 1, Pending: 2, Dropped: map[string]uint64{"a": 3, "b": 4}},
		{Pending: 10},
	}}
	assert.Equal(t, uint64(20), r.Lost())
}

func TestDeltas(t *testing.T) {
	assert.Nil(t, deltas([]Account{{Name: "a"}}, nil))
	got := deltas(
		[]Account{
			{Name: "a", Delivered: 10, Failed: 1, Dropped: map[string]uint64{"x": 5, "y": 1}, Pending: 9},
			{Name: "gone", Delivered: 3},
			{Name: "reset", Delivered: 100, Dropped: map[string]uint64{"x": 50}},
		},
		[]Account{
			{Name: "new", Delivered: 4, Dropped: map[string]uint64{"x": 2, "zero": 0}},
			{Name: "a", Delivered: 15, Failed: 1, Dropped: map[string]uint64{"x": 5, "y": 3, "z": 1}, Pending: 2},
			{Name: "reset", Delivered: 7, Dropped: map[string]uint64{"x": 1}, Stuck: true},
		})
	assert.Equal(t, []AccountReport{
		{Name: "new", Delivered: 4, Dropped: map[string]uint64{"x": 2}},
		{Name: "a", Delivered: 5, Dropped: map[string]uint64{"y": 2, "z": 1}, Pending: 2},
		{Name: "reset", Stuck: true}, // counters went down: zero, not a wrap-around
	}, got)
}

func TestReportClone(t *testing.T) {
	r := sampleReport()
	c := r.clone()
	require.Equal(t, r, c)
	c.Handlers[0].Name = "x"
	c.Stages[0].Name = "x"
	c.Accounts[0].Dropped["overflow"] = 0
	assert.Equal(t, sampleReport(), r)
}
