package engine

import (
	"fmt"
	"sync/atomic"
	"time"
)

var trIdx atomic.Int64
var trBuf [100000]struct {
	t  int64
	ev string
}

func tr(ev string) {
	i := trIdx.Add(1) - 1
	if i < int64(len(trBuf)) {
		trBuf[i].t = time.Now().UnixNano()
		trBuf[i].ev = ev
	}
}

func TraceReset() { trIdx.Store(0) }
func TraceDump() {
	n := min(trIdx.Load(), int64(len(trBuf)))
	if n == 0 {
		return
	}
	t0 := trBuf[0].t
	for i := int64(0); i < n; i++ {
		fmt.Printf("%8.3fms %s\n", float64(trBuf[i].t-t0)/1e6, trBuf[i].ev)
	}
}
