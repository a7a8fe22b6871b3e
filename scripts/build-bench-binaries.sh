#!/usr/bin/env bash
# Builds the benchmark test binaries into .devbin/, statically
# (CGO_ENABLED=0), so that the same figures can be taken on a many-core
# host that has no Go toolchain: copy .devbin/ there and run the commands
# this prints. GOOS and GOARCH are honoured, for a host of another kind
# (e.g. GOARCH=arm64 scripts/build-bench-binaries.sh).
#
#   bench.test   shardlog beside zap, zerolog and log/slog (module bench/)
#   engine.test  the engine's capacity, open-loop and call benchmarks
#   ring.test    the ring against its mutex twin
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/.devbin"
mkdir -p "$out"
export CGO_ENABLED=0

(cd "$root/bench" && go test -c -o "$out/bench.test" .)
(cd "$root" && go test -c -o "$out/engine.test" ./engine)
(cd "$root" && go test -c -o "$out/ring.test" ./ring)

flags="-test.run '^\$' -test.bench . -test.benchmem -test.benchtime 500ms -test.cpu 1,2,4,8,16 -test.count 10"
cat <<EOT
Built in $out: bench.test engine.test ring.test ($(go env GOOS)/$(go env GOARCH)).
On the host, in the directory holding them:

  ./bench.test  $flags | tee peers.txt
  ./engine.test $flags | tee engine.txt
  ./ring.test   $flags | tee ring.txt

then summarise with benchstat (make bench-peers and make benchstat show how).
For the many-core figures of docs/bench/many-core.md in one go (about six
minutes): copy scripts/many-core-run.sh beside the binaries and run it.
EOT
