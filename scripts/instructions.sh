#!/usr/bin/env bash
# Instructions per call on the success path of each variant, counted by callgrind: repeatable to
# the instruction, whatever else the machine is doing. Usage: scripts/instructions.sh [shape/variant…]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build -q --release -p vta-retry-benches --example instructions
bin=target/release/examples/instructions
calls=1000000
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | sed -n 's/.*Collected : //p'; }
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
    for shape in early_return expression awaiting suspending; do
        for variant in plain hand_written hand_written_context vta_retry vta_retry_every_key; do
            variants+=("$shape/$variant")
        done
    done
    variants+=(expression/vta_retry_as_future early_return/backon early_return/backon_attr early_return/tokio_retry2)
fi
for variant in "${variants[@]}"; do
    base=$(count "$variant" 0)
    total=$(count "$variant" "$calls")
    echo "$variant: $(( (total - base) / calls )) instructions per call"
done
