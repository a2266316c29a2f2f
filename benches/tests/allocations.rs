//! Deterministic checks of `#[vta_retry]`'s cost: no heap allocation per call, on the success
//! path or on the zero-wait retry path, and a future no larger than the hand-written loop's.
//!
//! Without libtest's harness: the allocation counter is global, and libtest's own thread, which
//! waits for the test on another, allocates now and then (once in a few hundred runs, enough to
//! count). Here the checks run on the main thread, the only one.

use std::alloc::System;
use std::cell::Cell;
use std::hint::black_box;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use vta_retry_benches::{
    SHAPES, VARIANTS, allocations_per_call, early_return, future_sizes, paused_runtime, retry,
    retry_timer, runtime,
};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    vta_retry_allocates_nothing_and_is_no_larger_than_a_hand_written_loop();
    #[cfg(feature = "metrics")]
    reporting_metrics_allocates_nothing();
    println!("allocations: ok");
}

fn vta_retry_allocates_nothing_and_is_no_larger_than_a_hand_written_loop() {
    let rt = runtime();

    // The counter is live: one boxed byte per call is one allocation per call.
    let boxed = allocations_per_call(GLOBAL, &rt, 1000, || async { Box::new(black_box(1u8)) });
    assert_eq!(boxed, 1.0, "the counting allocator sees a Box");

    let on_success =
        allocations_per_call(GLOBAL, &rt, 1000, || early_return::vta_retry(black_box(1)));
    assert_eq!(on_success, 0.0, "allocations per call on the success path");
    let (by_shape, _) = vta_retry_benches::allocations(GLOBAL, 1000);
    for (s, shape) in SHAPES.iter().enumerate() {
        for (v, variant) in VARIANTS.iter().enumerate() {
            assert_eq!(
                by_shape[s][v], 0.0,
                "allocations per call on the success path, {shape}/{variant}"
            );
        }
    }

    let on_retry = allocations_per_call(GLOBAL, &rt, 1000, || async {
        let calls = Cell::new(0);
        let outcome = retry::vta_retry(black_box(1), &calls).await;
        assert_eq!((outcome, calls.get()), (Ok(2), 2));
    });
    assert_eq!(
        on_retry, 0.0,
        "allocations per call on the zero-wait retry path"
    );

    // With a real wait, tokio's timer is registered and fired (on the paused clock, at once).
    let paused = paused_runtime();
    let on_timed_retry = allocations_per_call(GLOBAL, &paused, 1000, || async {
        let calls = Cell::new(0);
        let outcome = retry_timer::vta_retry(black_box(1), &calls).await;
        assert_eq!((outcome, calls.get()), (Ok(2), 2));
    });
    assert_eq!(
        on_timed_retry, 0.0,
        "allocations per call on the retry path with a 1 ms wait"
    );

    // Future sizes: #[vta_retry]'s no larger than the careful hand-written loop's, every shape.
    // With the runtime's `tracing` (on in a workspace build with every feature), every call keeps
    // a clock to report how long it ran: 16 bytes, which a loop that reports nothing does not pay;
    // with `metrics`, the attempt's start, to time it: 16 more.
    let tracing = if vta_retry_runtime::__private::clock_needed(false, false) {
        16
    } else {
        0
    };
    let metrics = if vta_retry_runtime::__private::TIMES_ATTEMPTS {
        16
    } else {
        0
    };
    let clock = tracing + metrics;
    let (sizes, _) = future_sizes();
    for (s, shape) in SHAPES.iter().enumerate() {
        let (hand, vta) = (sizes[s][1], sizes[s][2]);
        assert!(
            vta <= hand + clock,
            "{shape}: #[vta_retry]'s future is {vta} bytes, the hand-written loop's {hand}"
        );
    }
    let calls = Cell::new(0);
    let vta = size_of_val(&retry::vta_retry(1, &calls));
    let hand = size_of_val(&retry::hand_written(1, &calls));
    assert!(
        vta <= hand + clock,
        "#[vta_retry]'s future is {vta} bytes on the retry path, the hand-written loop's {hand}"
    );
}

/// With feature `metrics` and a recorder installed, a call reports its attempt (a counter and a
/// histogram sample) and itself (a counter) without allocating: the labels are a `static` built
/// at compile time. [`Tally`](vta_retry_benches::recorders::Tally) allocates nothing itself, so
/// what is counted is the runtime's.
#[cfg(feature = "metrics")]
fn reporting_metrics_allocates_nothing() {
    use vta_retry_benches::recorders::Tally;

    const CALLS: u32 = 1000;
    let rt = runtime();
    let tally = Tally::default();
    let on_success = metrics::with_local_recorder(&tally, || {
        allocations_per_call(GLOBAL, &rt, CALLS, || early_return::vta_retry(black_box(1)))
    });
    assert_eq!(
        on_success, 0.0,
        "allocations per call on the success path, reporting to a recorder"
    );
    // Warm-up and counted calls alike: an `ok` attempt, its duration, an `ok` call.
    assert_eq!(tally.events(), 3 * 2 * u64::from(CALLS));

    let tally = Tally::default();
    let on_retry = metrics::with_local_recorder(&tally, || {
        allocations_per_call(GLOBAL, &rt, CALLS, || async {
            let calls = Cell::new(0);
            let outcome = retry::vta_retry(black_box(1), &calls).await;
            assert_eq!((outcome, calls.get()), (Ok(2), 2));
        })
    });
    assert_eq!(
        on_retry, 0.0,
        "allocations per call on the retry path, reporting to a recorder"
    );
    // Two attempts, each counted and timed, and the call.
    assert_eq!(tally.events(), 5 * 2 * u64::from(CALLS));
}
