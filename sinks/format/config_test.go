package format_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

func TestZeroKeysMeanDefaultKeys(t *testing.T) {
	e := fullEvent()
	require.Equal(t, encode(format.JSON{Keys: format.DefaultKeys()}, e), encode(format.JSON{}, e))
	require.Equal(t, encode(format.Text{Keys: format.DefaultKeys()}, e), encode(format.Text{}, e))
	require.Equal(t, encode(format.Text{TimeFormat: format.DefaultTimeFormat}, e), encode(format.Text{}, e))
}

// A Keys that is not zero is taken as written: the names it leaves empty
// are left out.
func TestPartialKeysLeaveTheRestOut(t *testing.T) {
	e := newEvent("hello", core.Int("n", 1))
	e.Time = testTime
	e.Logger = "x"
	require.Equal(t, `{"message":"hello","n":1}`+"\n", encode(format.JSON{Keys: format.Keys{Message: "message"}}, e))
	require.Equal(t, "message=hello n=1\n", encode(format.Text{Keys: format.Keys{Message: "message"}}, e))
}

func TestEncodersAreSafeForConcurrentUse(t *testing.T) {
	e := fullEvent()
	for _, enc := range []core.Encoder{format.JSON{}, format.Text{}, format.SlogJSON{}} {
		want := encode(enc, e)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				var dst []byte
				for range 50 {
					dst = enc.Append(dst[:0], e)
					if string(dst) != want {
						t.Errorf("got %q, want %q", dst, want)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
