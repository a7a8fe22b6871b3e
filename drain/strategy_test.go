package drain

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKindString(t *testing.T) {
	assert.Equal(t, "flush-pending", KindFlushPending.String())
	assert.Equal(t, "immediate", KindImmediate.String())
	assert.Equal(t, "graceful", KindGraceful.String())
	assert.Equal(t, "Kind(9)", Kind(9).String())
}

func TestStrategy(t *testing.T) {
	for _, tc := range []struct {
		s       Strategy
		text    string
		kind    Kind
		timeout time.Duration
	}{
		{Immediate, "immediate", KindImmediate, 0},
		{FlushPending, "flush-pending", KindFlushPending, 0},
		{Strategy{}, "flush-pending", KindFlushPending, 0}, // zero: the safe default
		{Graceful(50 * time.Millisecond), "graceful(50ms)", KindGraceful, 50 * time.Millisecond},
		{Graceful(1500 * time.Millisecond), "graceful(1.5s)", KindGraceful, 1500 * time.Millisecond},
		{Graceful(time.Minute), "graceful(1m0s)", KindGraceful, time.Minute},
	} {
		t.Run(tc.text, func(t *testing.T) {
			assert.Equal(t, tc.text, tc.s.String())
			assert.Equal(t, tc.kind, tc.s.Kind())
			assert.Equal(t, tc.timeout, tc.s.Timeout())
			require.NoError(t, tc.s.Validate())

			b, err := tc.s.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.text, string(b))
			var back Strategy
			require.NoError(t, back.UnmarshalText(b))
			assert.Equal(t, tc.s, back)

			p, err := ParseStrategy(tc.text)
			require.NoError(t, err)
			assert.Equal(t, tc.s, p)

			// Through JSON, as a config file would hold it.
			type conf struct{ S Strategy }
			j, err := json.Marshal(conf{tc.s})
			require.NoError(t, err)
			assert.JSONEq(t, `{"S":"`+tc.text+`"}`, string(j))
			var c conf
			require.NoError(t, json.Unmarshal(j, &c))
			assert.Equal(t, tc.s, c.S)
		})
	}
}

func TestParseStrategy(t *testing.T) {
	ok := map[string]Strategy{
		" Immediate\n":       Immediate,
		"FLUSH-PENDING":      FlushPending,
		"graceful:50ms":      Graceful(50 * time.Millisecond),
		"Graceful( 2s )":     Graceful(2 * time.Second),
		"graceful(1h2m3.5s)": Graceful(time.Hour + 2*time.Minute + 3500*time.Millisecond),
	}
	for text, want := range ok {
		got, err := ParseStrategy(text)
		require.NoError(t, err, text)
		assert.Equal(t, want, got, text)
	}

	bad := map[string]string{
		"":              `drain: unknown strategy ""`,
		"soon":          `drain: unknown strategy "soon"`,
		"flush_pending": `drain: unknown strategy "flush_pending"`,
		"graceful":      `drain: unknown strategy "graceful"`,
		"graceful(50)":  `drain: strategy "graceful(50)": bad timeout`,
		"graceful:abc":  `drain: strategy "graceful:abc": bad timeout`,
		"graceful(0s)":  `drain: Graceful timeout must be > 0, got 0s`,
		"graceful(-1s)": `drain: Graceful timeout must be > 0, got -1s`,
	}
	for text, msg := range bad {
		_, err := ParseStrategy(text)
		require.Error(t, err, text)
		assert.Contains(t, err.Error(), msg, text)
	}

	// UnmarshalText leaves the value alone on error.
	s := Immediate
	err := s.UnmarshalText([]byte("later"))
	require.ErrorContains(t, err, `"later"`)
	assert.Equal(t, Immediate, s)
}

func TestStrategyValidate(t *testing.T) {
	require.EqualError(t, Graceful(-time.Second).Validate(), "drain: Graceful timeout must be > 0, got -1s")
	require.EqualError(t, Graceful(0).Validate(), "drain: Graceful timeout must be > 0, got 0s")
	require.ErrorContains(t, Strategy{kind: 7}.Validate(), "unknown strategy kind Kind(7)")

	// An invalid strategy cannot be written, so what is written reads back.
	_, err := Graceful(0).MarshalText()
	require.ErrorContains(t, err, "got 0s")
	_, err = json.Marshal(Graceful(-time.Second))
	require.ErrorContains(t, err, "got -1s")
}

func TestStrategyContext(t *testing.T) {
	t.Run("graceful sets the deadline", func(t *testing.T) {
		before := time.Now()
		ctx, cancel := Graceful(50 * time.Millisecond).Context(context.Background())
		defer cancel()
		after := time.Now()
		d, ok := ctx.Deadline()
		require.True(t, ok)
		assert.False(t, d.Before(before.Add(50*time.Millisecond)))
		assert.False(t, d.After(after.Add(50*time.Millisecond)))
		<-ctx.Done()
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	})
	t.Run("parent's earlier deadline wins", func(t *testing.T) {
		parent, pcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer pcancel()
		pd, _ := parent.Deadline()
		ctx, cancel := Graceful(time.Hour).Context(parent)
		defer cancel()
		d, ok := ctx.Deadline()
		require.True(t, ok)
		assert.Equal(t, pd, d)
	})
	t.Run("graceful's earlier deadline wins", func(t *testing.T) {
		parent, pcancel := context.WithTimeout(context.Background(), time.Hour)
		defer pcancel()
		ctx, cancel := Graceful(50 * time.Millisecond).Context(parent)
		defer cancel()
		d, _ := ctx.Deadline()
		assert.Less(t, time.Until(d), time.Minute)
	})
	for _, s := range []Strategy{Immediate, FlushPending} {
		t.Run(s.String()+" has no deadline of its own", func(t *testing.T) {
			ctx, cancel := s.Context(context.Background())
			_, ok := ctx.Deadline()
			assert.False(t, ok)
			require.NoError(t, ctx.Err())
			cancel()
			assert.ErrorIs(t, ctx.Err(), context.Canceled)

			parent, pcancel := context.WithTimeout(context.Background(), time.Hour)
			defer pcancel()
			pd, _ := parent.Deadline()
			ctx, cancel = s.Context(parent)
			defer cancel()
			d, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.Equal(t, pd, d)
		})
	}
	t.Run("invalid graceful is done at once", func(t *testing.T) {
		ctx, cancel := Graceful(0).Context(context.Background())
		defer cancel()
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	})
}
