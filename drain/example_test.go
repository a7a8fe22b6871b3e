package drain_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/shardlog/shardlog/drain"
)

// reportingShutdowner prints the report before HandleSignals exits the
// process; the logger itself has been shut down by then, so it goes to
// stderr.
type reportingShutdowner struct{ drain.Shutdowner }

func (r reportingShutdowner) Shutdown(ctx context.Context, s drain.Strategy) (drain.Report, error) {
	rep, err := r.Shutdowner.Shutdown(ctx, s)
	fmt.Fprintln(os.Stderr, rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return rep, err
}

// A service registers its cleanup, then lets HandleSignals drain on
// SIGTERM (Kubernetes) or Ctrl-C and exit. In shardlog the engine owns the
// Controller and its stages; here a stand-in stage plays the engine.
func Example_service() {
	ctl, err := drain.New(drain.WithStages(drain.Stage{
		Name: "flush sinks",
		Run:  func(ctx context.Context, s drain.Strategy) error { return nil },
	}))
	if err != nil {
		panic(err)
	}

	srv := &http.Server{Addr: ":8080"}
	// Handlers run before the stages, so what the server logs while it
	// finishes its requests is still delivered.
	if err := ctl.Register("http server", srv.Shutdown); err != nil {
		panic(err)
	}
	go func() { _ = srv.ListenAndServe() }()

	// Blocks until SIGTERM or os.Interrupt; a second one forces the end.
	_, _ = drain.HandleSignals(context.Background(), reportingShutdowner{ctl}, drain.SignalConfig{
		Strategy: drain.Graceful(20 * time.Second),
		Deadline: 25 * time.Second, // terminationGracePeriodSeconds 30 minus room to exit
		Exit:     true,             // status 0 only if the report is clean
		OnSignal: func(sig os.Signal) { fmt.Fprintln(os.Stderr, "draining on", sig) },
	})
}

// Graceful delivers until its timeout, then the stages give up and the
// ones after the deadline still run, with the done context, to close what
// they can.
func ExampleGraceful() {
	ctl, err := drain.New(
		drain.WithOverrun(time.Second), // generous, so that this output is stable
		drain.WithStages(
			drain.Stage{Name: "deliver held", Run: func(ctx context.Context, s drain.Strategy) error {
				<-ctx.Done() // a sink too slow to finish: the timeout ends it
				fmt.Println("deliver held: abandoning the rest after", s.Timeout())
				return nil
			}},
			drain.Stage{Name: "close sinks", Run: func(ctx context.Context, s drain.Strategy) error {
				fmt.Println("close sinks: context done:", ctx.Err() != nil)
				return nil
			}},
		))
	if err != nil {
		panic(err)
	}
	rep, err := ctl.Shutdown(context.Background(), drain.Graceful(20*time.Millisecond))
	fmt.Println("deadline exceeded:", rep.DeadlineHit, errors.Is(err, context.DeadlineExceeded))
	for _, st := range rep.Stages {
		fmt.Printf("%s: timed out %v, abandoned %v\n", st.Name, st.TimedOut, st.Abandoned)
	}
	// Output:
	// deliver held: abandoning the rest after 20ms
	// close sinks: context done: true
	// deadline exceeded: true true
	// deliver held: timed out true, abandoned false
	// close sinks: timed out false, abandoned false
}

func ExampleController_Register() {
	ctl, err := drain.New()
	if err != nil {
		panic(err)
	}
	_ = ctl.Register("close db", func(ctx context.Context) error {
		fmt.Println("closing the database")
		return nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rep, err := ctl.Shutdown(ctx, drain.FlushPending)
	fmt.Println(rep.Handlers[0].Name, err, rep.Clean())

	// Shutdown is idempotent; Register is closed.
	_, again := ctl.Shutdown(ctx, drain.Immediate)
	fmt.Println(again)
	fmt.Println(errors.Is(ctl.Register("late", func(context.Context) error { return nil }), drain.ErrShutDown))
	// Output:
	// closing the database
	// close db <nil> true
	// <nil>
	// true
}

func ExampleParseStrategy() {
	for _, text := range []string{"immediate", "flush-pending", "graceful(1.5s)", "graceful:50ms", "graceful(0s)", "later"} {
		s, err := drain.ParseStrategy(text)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s, s.Kind(), s.Timeout())
	}
	// Output:
	// immediate immediate 0s
	// flush-pending flush-pending 0s
	// graceful(1.5s) graceful 1.5s
	// graceful(50ms) graceful 50ms
	// drain: Graceful timeout must be > 0, got 0s
	// drain: unknown strategy "later" (want immediate, flush-pending or graceful(<duration>))
}
