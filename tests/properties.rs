//! Property tests of the expansion on tokio's paused clock: for random policies and random
//! scripts of outcomes, the calls made, the time slept and the value returned are exactly what a
//! model of the policy predicts; a deterministic error is never retried; no call exceeds
//! `attempts`.
//!
//! The policy is fixed at compile time, so the random policy is drawn from a grid of annotated
//! functions (attempts 1 to 10, constant and doubling backoffs in several units), written by a
//! `macro_rules!` — which also proves the attribute reads literals passed through a macro.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;
use vta_retry_runtime::{Retryable, vta_retry};
use vta_retry_tests::Script;

/// What one scripted call returns, numbered so the test can tell which call's error came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Transient(usize),
    Deterministic(usize),
}

impl Retryable for Fault {
    fn is_transient(&self) -> bool {
        matches!(self, Fault::Transient(_))
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Transient,
    Deterministic,
    Success,
}

impl Step {
    /// What call number `call` returns when the script says `self`.
    fn outcome(self, call: usize) -> Result<u32, Fault> {
        match self {
            Step::Success => Ok(call as u32),
            Step::Transient => Err(Fault::Transient(call)),
            Step::Deterministic => Err(Fault::Deterministic(call)),
        }
    }
}

type Call = for<'a> fn(&'a Script<Fault>) -> Pin<Box<dyn Future<Output = Result<u32, Fault>> + 'a>>;

/// One annotated function and the policy it was annotated with, in numbers the model reads.
struct Case {
    attempts: usize,
    first: Duration,
    max: Duration,
    call: Call,
}

macro_rules! policy_grid {
    ($($name:ident: $attempts:literal, $backoff:literal, $first:expr, $max:expr;)*) => {
        $(
            #[vta_retry(attempts = $attempts, backoff = $backoff)]
            async fn $name(script: &Script<Fault>) -> Result<u32, Fault> {
                script.call()
            }
        )*
        const GRID: &[Case] = &[$(Case {
            attempts: $attempts,
            first: $first,
            max: $max,
            call: |script| Box::pin($name(script)),
        }),*];
    };
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

policy_grid! {
    p01: 1, "500ms..1s", ms(500), ms(1000);
    p02: 2, "500ms..1s", ms(500), ms(1000);
    p03: 3, "500ms..1s", ms(500), ms(1000);
    p04: 4, "100ms..1s", ms(100), ms(1000);
    p05: 5, "100ms..1s", ms(100), ms(1000);
    p06: 6, "250ms..2s", ms(250), ms(2000);
    p07: 7, "1ms..1m", ms(1), ms(60_000);
    p08: 8, "3ms..100ms", ms(3), ms(100);
    p09: 9, "1.5s..10s", ms(1500), ms(10_000);
    p10: 10, "10ms..1h", ms(10), ms(3_600_000);
    p11: 10, "0s", ms(0), ms(0);
    p12: 3, "2s", ms(2000), ms(2000);
    p13: 5, "750us..3ms", Duration::from_micros(750), ms(3);
    p14: 6, "1s..1s", ms(1000), ms(1000);
    p15: 4, "999ns..1ms", Duration::from_nanos(999), ms(1);
    p16: 2, "0.25s..0.5s", ms(250), ms(500);
    p17: 7, "40ms..300ms", ms(40), ms(300);
    p18: 9, "7ms", ms(7), ms(7);
    p19: 1, "1h", ms(3_600_000), ms(3_600_000);
    p20: 8, "2m..5m", ms(120_000), ms(300_000);
}

/// What the policy must do, computed from its numbers alone: the calls made, the waits between
/// them, and the value returned.
fn model(case: &Case, script: &[Step]) -> (usize, Duration, Result<u32, Fault>) {
    let mut slept = Duration::ZERO;
    let mut wait = case.first;
    for (index, step) in script.iter().enumerate().take(case.attempts) {
        let call = index + 1;
        let outcome = step.outcome(call);
        if !matches!(step, Step::Transient) || call == case.attempts {
            return (call, slept, outcome);
        }
        slept += on_tokio_timer(wait);
        wait = (wait * 2).min(case.max);
    }
    unreachable!("scripts are as long as the largest `attempts`")
}

/// tokio's timer counts whole milliseconds: a wait that is not one sleeps until the next.
fn on_tokio_timer(wait: Duration) -> Duration {
    let millis = wait.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(millis as u64)
}

fn run(case: &Case, steps: &[Step]) -> (usize, Duration, Result<u32, Fault>) {
    let outcomes = (1..).zip(steps).map(|(call, step)| step.outcome(call));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let script = Script::new(outcomes);
        let start = Instant::now();
        let returned = (case.call)(&script).await;
        (script.calls(), start.elapsed(), returned)
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Transient),
        1 => Just(Step::Deterministic),
        2 => Just(Step::Success),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (0..GRID.len(), prop::collection::vec(step(), 10))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn calls_time_and_value_are_what_the_policy_predicts((case, steps) in scenario()) {
        let case = &GRID[case];
        prop_assert_eq!(run(case, &steps), model(case, &steps));
    }

    #[test]
    fn no_call_ever_exceeds_attempts((case, steps) in scenario()) {
        let case = &GRID[case];
        let (calls, _, _) = run(case, &steps);
        prop_assert!(calls >= 1 && calls <= case.attempts, "{} calls for {} attempts", calls, case.attempts);
    }

    #[test]
    fn a_deterministic_error_is_never_retried((case, steps) in scenario()) {
        let case = &GRID[case];
        let (calls, _, returned) = run(case, &steps);
        let first_deterministic = steps.iter().position(|s| matches!(s, Step::Deterministic));
        if let Some(index) = first_deterministic {
            // Nothing after the first deterministic error is ever called.
            prop_assert!(calls <= index + 1);
        }
        if let Err(Fault::Deterministic(call)) = returned {
            prop_assert_eq!(call, calls, "the deterministic error must be the last call's");
        }
    }
}
