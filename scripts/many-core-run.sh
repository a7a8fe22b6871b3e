#!/usr/bin/env bash
# Runs the many-core figures of docs/bench/many-core.md in about six
# minutes at the defaults (a device lease is 15), on a host that has the
# test binaries built by scripts/build-bench-binaries.sh (no Go toolchain
# needed there). Run it from the directory that holds bench.test,
# engine.test and ring.test; the output goes to $OUT (default
# ./many-core-out), one file per family, plus a CPU profile of the
# capacity benchmark at the highest -cpu (read it here with
# `go tool pprof bench.test capacity.prof`).
#
#   COUNT   runs per benchmark (default 10; benchstat wants at least 6)
#   CPUS    the -test.cpu list (default 1,2,4,8,16)
#
# The families, in the order of their value when time is short:
#   capacity.txt  shardlog beside zap, zerolog and slog, nothing lost
#   ring.txt      the ring, its sharded mutex twin and the seed's queue
#   caller.txt    the call's latency with one goroutine per processor
#   scaling.txt   what grows with the processors, and the idle engine
set -euo pipefail

out=${OUT:-./many-core-out}
count=${COUNT:-10}
cpus=${CPUS:-1,2,4,8,16}
top=${cpus##*,}
mkdir -p "$out"
{ date -u; nproc; grep -m1 'model name' /proc/cpuinfo || true; uname -r; } >"$out/machine.txt"
flags=(-test.run '^$' -test.benchmem -test.count "$count")

./bench.test "${flags[@]}" -test.cpu "$cpus" -test.benchtime 400ms \
	-test.bench '^BenchmarkCapacity$/logger=(zap|zerolog|slog|shardlog-(lockfree|mutex)-block)$' >"$out/capacity.txt"
./bench.test -test.run '^$' -test.cpu "$top" -test.benchtime 3s -test.cpuprofile "$out/capacity.prof" \
	-test.bench '^BenchmarkCapacity$/logger=shardlog-lockfree-block$' >"$out/profile.txt"
./ring.test "${flags[@]}" -test.cpu "$cpus" -test.benchtime 200ms \
	-test.bench 'BenchmarkRing$|BenchmarkRingSeed$' >"$out/ring.txt"
./engine.test "${flags[@]}" -test.cpu "$top" -test.benchtime 300ms \
	-test.bench '^BenchmarkCallerLatency$' >"$out/caller.txt"
./engine.test "${flags[@]}" -test.cpu "$cpus" -test.count 3 -test.benchtime 300ms \
	-test.bench '^BenchmarkScaling$' >"$out/scaling.txt"
date -u >>"$out/machine.txt"
