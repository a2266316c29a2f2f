#!/usr/bin/env bash
# Regenerates every figure of the README's "Performance" section: the criterion benchmarks, the
# table of times, future sizes and allocations, the instructions per call, and the compile-time
# cost for both body shapes.
# Takes about five minutes on two cores; run it on an otherwise idle machine.
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
