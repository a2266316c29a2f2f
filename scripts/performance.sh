#!/usr/bin/env bash
# Regenerates every figure of the README's "Performance" section: the criterion benchmarks, the
# table of times, future sizes and allocations, the instructions per call, and the compile-time
# cost for both body shapes, and what feature `metrics` adds with no, a trivial and a Prometheus
# recorder.
# Takes about eight minutes on two cores; run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(rustc --version)"
cargo bench -q -p vta-retry-benches -- --noplot >/dev/null 2>&1 || { echo "cargo bench failed: run cargo bench -p vta-retry-benches to see why" >&2; exit 1; }
cargo run -q --release -p vta-retry-benches --example report
echo
echo "instructions per call on the success path (callgrind; repeatable to the instruction):"
bash scripts/instructions.sh 2>/dev/null
echo
bash scripts/compile-time.sh 200 5 2>/dev/null
BODY=call bash scripts/compile-time.sh 200 5 2>/dev/null
echo
echo "what feature metrics costs the success path (vta_retry; ns/call, criterion's estimate):"
# Its own criterion directory, so that the tables above keep the feature-off figures.
export CRITERION_HOME="${CARGO_TARGET_DIR:-$PWD/target}/criterion-metrics"
filter='^(early_return|awaiting)/(plain|vta_retry)$'
for recorder in none tally prometheus; do
    echo "-- feature metrics on, recorder: $recorder"
    VTA_BENCH_RECORDER=$recorder cargo bench -q -p vta-retry-benches --features metrics --bench retry -- --noplot "$filter" 2>/dev/null |
        awk '/^(early_return|awaiting)\// { name = $1 } /time:/ { print name ": " $5 " " $6 }'
done
