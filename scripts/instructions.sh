#!/usr/bin/env bash
# Instructions per call on the success path of each variant, counted by callgrind: repeatable to
# the instruction, whatever else the machine is doing. Usage: scripts/instructions.sh [variant…]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build -q --release -p vta-retry-benches --example instructions
bin=target/release/examples/instructions
calls=1000000
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | sed -n 's/.*Collected : //p'; }
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(plain hand_written vta_retry backon backon_attr tokio_retry2)
for variant in "${variants[@]}"; do
    base=$(count "$variant" 0)
    total=$(count "$variant" "$calls")
    echo "$variant: $(( (total - base) / calls )) instructions per call"
done
