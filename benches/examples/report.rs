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

/// The criterion groups, in the order of the table's time columns.
const GROUPS: [&str; 3] = ["success", "retry", "retry_timer"];

fn main() {
    let sizes = future_sizes();
    let allocs = allocations(GLOBAL, CALLS);
    let time = |group: &str, variant: &str| -> String {
        match (
            criterion_mean_ns(group, variant),
            criterion_mean_ns(group, "plain"),
        ) {
            (Some((ns, lo, hi)), Some((base, _, _))) => {
                format!("{ns:.2} [{lo:.2}, {hi:.2}] ({:.2}×)", ns / base)
            }
            (Some((ns, lo, hi)), None) => format!("{ns:.2} [{lo:.2}, {hi:.2}]"),
            (None, _) => "– (run cargo bench)".to_owned(),
        }
    };
    println!(
        "| variant | success ns/call (× plain) | retry, zero wait, ns/call (× plain) \
         | retry through the timer, ns/call (× plain) | future bytes (success / retry) \
         | allocs/call (success / retry / timer) |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, variant) in VARIANTS.iter().enumerate() {
        let [success, retry, timer] = GROUPS.map(|group| time(group, variant));
        let (a, b, c) = allocs[i];
        println!(
            "| {variant} | {success} | {retry} | {timer} | {} / {} | {a} / {b} / {c} |",
            sizes[i].0, sizes[i].1,
        );
    }
    println!(
        "\nns/call: criterion's estimate [95% CI], from {}; allocations counted over {CALLS} calls each",
        vta_retry_benches::criterion_dir().display()
    );
}
