#!/usr/bin/env bash
# A stranger's first steps, from the packaged crates rather than this workspace: `cargo package`
# the two crates, unpack them, and build a new project that depends on the unpacked runtime by
# path and does what the README shows: retry its own error type (`#[derive(Retryable)]` beside
# thiserror), an `anyhow::Error`, and a `reqwest::Error`. The project runs and checks itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

cargo package -q --allow-dirty --no-verify -p vta-retry-macros -p vta-retry-runtime
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
tar xzf target/package/vta-retry-macros-0.1.0.crate -C "$dir"
tar xzf target/package/vta-retry-runtime-0.1.0.crate -C "$dir"

mkdir -p "$dir/app/src"
cat > "$dir/app/Cargo.toml" <<TOML
[package]
name = "stranger"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
vta-retry-runtime = { path = "$dir/vta-retry-runtime-0.1.0", default-features = false, features = ["anyhow", "reqwest"] }
tokio = { version = "1.38", features = ["macros", "rt", "time", "net", "io-util"] }
thiserror = "2"
anyhow = "1"
reqwest = { version = "0.13", default-features = false }

# Not on crates.io yet: the runtime's exact pin on the macros resolves to the unpacked copy.
[patch.crates-io]
vta-retry-macros = { path = "$dir/vta-retry-macros-0.1.0" }

[workspace]
TOML
cp scripts/stranger/main.rs "$dir/app/src/main.rs"
# The workspace's versions, so that the shared target directory's builds are reused.
cp Cargo.lock "$dir/app/Cargo.lock"
cd "$dir/app"
CARGO_TARGET_DIR="$root/target/stranger" cargo run -q
