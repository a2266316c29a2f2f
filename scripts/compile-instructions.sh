#!/usr/bin/env bash
# The compile-time cost of #[vta_retry] in instructions, which callgrind makes repeatable where
# wall-clock times on a shared machine are not: rustc's instructions to `cargo check` the crates
# scripts/compile-time.sh generates (200 async fns, unannotated, annotated and hand-written).
#
# Usage: [BODY=early|call] scripts/compile-instructions.sh   (needs valgrind; about 4 minutes)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/target/compile-time"
# Generates the crates and checks their dependencies (one timed run, whose times are not used).
bash "$ROOT/scripts/compile-time.sh" 200 1 >/dev/null 2>&1
export CARGO_TARGET_DIR="$WORK/target" CARGO_INCREMENTAL=0
wrapper="$WORK/callgrind-rustc.sh"
log="$WORK/callgrind.log"
# Only the generated crate itself runs under callgrind (a workspace wrapper skips dependencies).
printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file=%s "$@"\n' \
    "$log" >"$wrapper"
chmod +x "$wrapper"
echo "rustc's instructions to check 200 async fns with the '${BODY:-early}' body (callgrind):"
plain=""
for kind in plain vta_retry hand_written; do
    touch "$WORK/$kind/src/lib.rs"
    RUSTC_WORKSPACE_WRAPPER="$wrapper" cargo check --quiet --offline --manifest-path "$WORK/$kind/Cargo.toml"
    count=$(sed -n 's/.*Collected : //p' "$log")
    plain="${plain:-$count}"
    awk -v k="$kind" -v c="$count" -v p="$plain" \
        'BEGIN { printf "  %-13s %.3f G  (+%.2f M per fn)\n", k ":", c / 1e9, (c - p) / 200 / 1e6 }'
done
