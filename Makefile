# shardlog — build, test, lint and benchmark.
#
# Tools are pinned and run through `go run`, so nobody installs them by hand.
BENCHSTAT   := go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@v0.8.2

# The previous Go release, which shardlog must keep building with (go.mod
# says go 1.25.0); fetched through the module proxy like any module.
PREV_GO     := go1.25.14

BENCH_CPU   ?= 1,2
BENCH_COUNT ?= 10
BENCH_TIME  ?= 500ms
OUT         ?= bench-out

.PHONY: all test lint compat bench benchstat run

all: lint test

## test: every package with the race detector, with the test hooks compiled in
## (build tag shardlog_hooks: tests that hold a party inside a race window).
## The torture suite (stress/) runs after the rest, not beside it: on 2
## processors its load would stretch the timing of the engine's tests.
NOT_STRESS = $$(go list ./... | grep -v '/stress$$')
test:
	go test -race -count=1 -tags shardlog_hooks $(NOT_STRESS)
	go test -race -count=1 -tags shardlog_hooks ./stress/...

## lint: formatting, go vet and staticcheck.
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...

## compat: vet and test with the previous Go release.
compat:
	GOTOOLCHAIN=$(PREV_GO) go vet ./...
	GOTOOLCHAIN=$(PREV_GO) go test -count=1 $(NOT_STRESS)
	GOTOOLCHAIN=$(PREV_GO) go test -count=1 ./stress/...

## bench: every benchmark once, with allocations.
bench:
	go test -run '^$$' -bench . -benchmem ./...

## benchstat: the ring's mutex twin against the lock-free ring,
## $(BENCH_COUNT) runs each at -cpu $(BENCH_CPU), compared by benchstat.
benchstat:
	@mkdir -p $(OUT)
	go test -run '^$$' -bench 'BenchmarkRing$$/impl=mutex' -benchmem -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) -cpu $(BENCH_CPU) ./ring | tee $(OUT)/mutex.txt
	go test -run '^$$' -bench 'BenchmarkRing$$/impl=lockfree' -benchmem -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) -cpu $(BENCH_CPU) ./ring | tee $(OUT)/lockfree.txt
	$(BENCHSTAT) -ignore /impl $(OUT)/mutex.txt $(OUT)/lockfree.txt

## run: the load generator, the project's main job.
run:
	go run ./cmd/loadgen

.PHONY: bench-peers test-peers

## bench-peers: shardlog beside zap, zerolog and log/slog (module bench/):
## BenchmarkCapacity, BenchmarkOpenLoop and BenchmarkLog, $(BENCH_COUNT) runs
## each at -cpu $(BENCH_CPU), into $(OUT)/peers.txt, summarised by benchstat.
bench-peers:
	@mkdir -p $(OUT)
	cd bench && go test -run '^$$' -bench '^Benchmark(Capacity|OpenLoop|Log)$$' -benchmem -count $(BENCH_COUNT) -benchtime $(BENCH_TIME) -cpu $(BENCH_CPU) . | tee $(abspath $(OUT))/peers.txt
	@if grep -Eq '^(--- )?FAIL' $(OUT)/peers.txt; then echo "bench-peers: a benchmark failed; see $(OUT)/peers.txt"; exit 1; fi
	$(BENCHSTAT) $(OUT)/peers.txt

## test-peers: the bench module's tests (each logger's output and accounting),
## with the race detector.
test-peers:
	cd bench && go test -race -count=1 ./...

.PHONY: test-prometheus

## test-prometheus: the Prometheus exporter module's tests (prometheus/),
## with the race detector; the integration test needs the prometheus binary.
test-prometheus:
	cd prometheus && go test -race -count=1 ./...
