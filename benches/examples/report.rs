//! `cargo run --release -p vta-retry-benches --example report`: the tables of every variant's
//! criterion time (from the last `cargo bench -p vta-retry-benches`), future size and heap
//! allocations per call: the success path by body shape, then the retry paths.

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use vta_retry_benches::{ALL, SHAPES, VARIANTS, allocations, criterion_mean_ns, future_sizes};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Calls per allocation count.
const CALLS: u32 = 10_000;

/// Criterion's time for `group/variant` as `ns [low, high] (× plain)`.
fn time(group: &str, variant: &str) -> String {
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
}

fn main() {
    let (sizes, retry_sizes) = future_sizes();
    let (allocs, retry_allocs) = allocations(GLOBAL, CALLS);

    println!("success path, the body could fail and does not:\n");
    println!("| shape | variant | ns/call (× plain) | future bytes | allocs/call |");
    println!("|---|---|---|---|---|");
    for (s, shape) in SHAPES.iter().enumerate() {
        for (v, variant) in VARIANTS.iter().enumerate() {
            println!(
                "| {shape} | {variant} | {} | {} | {} |",
                time(shape, variant),
                sizes[s][v],
                allocs[s][v],
            );
        }
        for peer in [
            "vta_retry_as_future",
            "backon",
            "backon_attr",
            "tokio_retry2",
        ] {
            if criterion_mean_ns(shape, peer).is_some() {
                println!("| {shape} | {peer} | {} | | |", time(shape, peer));
            }
        }
    }

    println!("\nretry path, one transient failure, then success:\n");
    println!(
        "| variant | zero wait, ns/call (× plain) | through the timer, ns/call (× plain) | future bytes | allocs/call (zero wait / timer) |"
    );
    println!("|---|---|---|---|---|");
    for (i, variant) in ALL.iter().enumerate() {
        let (zero, timer) = retry_allocs[i];
        println!(
            "| {variant} | {} | {} | {} | {zero} / {timer} |",
            time("retry", variant),
            time("retry_timer", variant),
            retry_sizes[i],
        );
    }
    println!(
        "\nns/call: criterion's estimate [95% CI], from {}; allocations counted over {CALLS} calls each",
        vta_retry_benches::criterion_dir().display()
    );
}
