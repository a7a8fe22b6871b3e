package breaker_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/shardlog/shardlog/breaker"
)

// A writer asks the breaker before each write and reports the outcome. Two
// failures in a row open it, and it refuses until the interval has passed.
func Example() {
	b, err := breaker.New(breaker.Config{
		FailureThreshold: 2,
		ResetTimeout:     time.Minute,
		OnStateChange: func(from, to breaker.State) {
			fmt.Println("breaker:", from, "->", to)
		},
	})
	if err != nil {
		panic(err)
	}
	write := func() error { return errors.New("connection refused") }

	for i := range 4 {
		t, ok := b.Allow()
		if !ok {
			fmt.Println("write", i, "refused: divert to the fallback")
			continue
		}
		start := time.Now()
		err := write()
		b.Done(t, err, time.Since(start))
		fmt.Println("write", i, "failed:", err)
	}
	fmt.Println("rejected:", b.Counts().Rejected)
	// Output:
	// write 0 failed: connection refused
	// breaker: closed -> open
	// write 1 failed: connection refused
	// write 2 refused: divert to the fallback
	// write 3 refused: divert to the fallback
	// rejected: 2
}
