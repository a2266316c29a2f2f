//! `cargo run --release --example key_cost`: what holding one VTA idempotency key across a call's
//! attempts costs a call that succeeds at once, in heap allocations, against the same function
//! with `vta_key = false`. Counted, not timed: `stats_alloc` counts every allocation made while
//! the calls run.

use std::alloc::System;
use std::hint::black_box;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use vta_retry_runtime::vta_retry;
use vta_sdk::error::VtaError;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Over `VtaError`: every attempt of a call dispatches under one key.
#[vta_retry(attempts = 3, backoff = "500ms..1s")]
async fn keyed(x: u64) -> Result<u64, VtaError> {
    Ok(black_box(x) + 1)
}

/// The same, with the key turned off.
#[vta_retry(attempts = 3, backoff = "500ms..1s", vta_key = false)]
async fn unkeyed(x: u64) -> Result<u64, VtaError> {
    Ok(black_box(x) + 1)
}

const CALLS: u64 = 10_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    // The first keyed call builds the client that scopes keys, once per process.
    runtime.block_on(keyed(0)).expect("succeeds");
    runtime.block_on(unkeyed(0)).expect("succeeds");

    let region = Region::new(GLOBAL);
    runtime.block_on(async {
        for x in 0..CALLS {
            unkeyed(x).await.expect("succeeds");
        }
    });
    let unkeyed_allocations = region.change().allocations as u64;

    let region = Region::new(GLOBAL);
    runtime.block_on(async {
        for x in 0..CALLS {
            keyed(x).await.expect("succeeds");
        }
    });
    let keyed_allocations = region.change().allocations as u64;

    println!("heap allocations per call that succeeds at once, over {CALLS} calls:");
    println!("  vta_key = false: {}", per_call(unkeyed_allocations));
    println!("  one key held:    {}", per_call(keyed_allocations));
}

fn per_call(allocations: u64) -> String {
    format!("{:.2}", allocations as f64 / CALLS as f64)
}
