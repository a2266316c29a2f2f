//! `cargo run --release -p vta-retry-benches --example report`: one table of every variant's
//! criterion time (from the last `cargo bench -p vta-retry-benches`), future size and heap
//! allocations per call, success path and retry path.

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use vta_retry_benches::{VARIANTS, allocations, criterion_mean_ns, future_sizes};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Calls per allocation count.
const CALLS: u32 = 10_000;

fn main() {
    let sizes = future_sizes();
    let allocs = allocations(GLOBAL, CALLS);
    let plain = [
        criterion_mean_ns("success", "plain"),
        criterion_mean_ns("retry", "plain"),
    ];
    let time = |group: usize, variant: &str| -> String {
        let name = ["success", "retry"][group];
        match (criterion_mean_ns(name, variant), plain[group]) {
            (Some((ns, lo, hi)), Some((base, _, _))) => {
                format!("{ns:.2} [{lo:.2}, {hi:.2}] ({:.2}×)", ns / base)
            }
            (Some((ns, lo, hi)), None) => format!("{ns:.2} [{lo:.2}, {hi:.2}]"),
            (None, _) => "– (run cargo bench)".to_owned(),
        }
    };
    println!(
        "| variant | success ns/call [95% CI] (× plain) | retry ns/call [95% CI] (× plain) \
         | future bytes (success / retry) | allocs/call success | allocs/call retry |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, variant) in VARIANTS.iter().enumerate() {
        println!(
            "| {variant} | {} | {} | {} / {} | {} | {} |",
            time(0, variant),
            time(1, variant),
            sizes[i].0,
            sizes[i].1,
            allocs[i].0,
            allocs[i].1,
        );
    }
    println!(
        "\ncriterion results from {}; allocations counted over {CALLS} calls each",
        vta_retry_benches::criterion_dir().display()
    );
}
