//! The function form, `policy.retry(|| …)`, and the original helper's shape,
//! `vta_retry("label", || …)`: what they accept, what they report, and that they decide exactly
//! as the attribute does (a property test over random scripts and a grid of policies with
//! timeouts, deadlines and server hints).

use std::fmt;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;
use vta_retry_runtime::{Backoff, Policy, RetryEvent, Retryable, TimedOut, vta_retry};

/// One scripted attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A transient failure, with the server's hint in milliseconds.
    Transient(Option<u64>),
    /// A permanent failure.
    Permanent,
    /// A success after this many milliseconds.
    Slow(u64),
}

/// The error a scripted call returns, numbered by the call that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Transient(usize, Option<u64>),
    Permanent(usize),
    TimedOut(Duration),
}

impl Retryable for Fault {
    fn is_transient(&self) -> bool {
        matches!(self, Fault::Transient(..))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Fault::Transient(_, hint) => hint.map(Duration::from_millis),
            _ => None,
        }
    }
}

impl From<TimedOut> for Fault {
    fn from(timed_out: TimedOut) -> Self {
        Fault::TimedOut(timed_out.limit())
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Plays steps in order, counting calls.
struct Script {
    steps: Vec<Step>,
    calls: Mutex<usize>,
}

impl Script {
    fn new(steps: &[Step]) -> Self {
        Self {
            steps: steps.to_vec(),
            calls: Mutex::new(0),
        }
    }

    async fn call(&self) -> Result<u32, Fault> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *calls
        };
        match self.steps[call - 1] {
            Step::Transient(hint) => Err(Fault::Transient(call, hint)),
            Step::Permanent => Err(Fault::Permanent(call)),
            Step::Slow(millis) => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok(call as u32)
            }
        }
    }

    fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

type Annotated = for<'a> fn(&'a Script) -> Pin<Box<dyn Future<Output = Result<u32, Fault>> + 'a>>;

/// Annotated functions, each beside the `Policy` value its attribute spells.
macro_rules! grid {
    ($($name:ident: ($($key:tt)*) = $policy:expr;)*) => {
        $(
            #[vta_retry($($key)*)]
            async fn $name(script: &Script) -> Result<u32, Fault> {
                script.call().await
            }
        )*
        const GRID: &[(Annotated, Policy)] = &[$((|script| Box::pin($name(script)), $policy)),*];
    };
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const EXPONENTIAL: Backoff = Backoff::exponential(ms(100), ms(1000));

grid! {
    g01: () = Policy::DEFAULT;
    g02: (attempts = 5, backoff = "100ms..1s") = Policy::new(5, EXPONENTIAL);
    g03: (attempts = 6, backoff = "100ms..1s", max_elapsed = "900ms")
        = Policy::new(6, EXPONENTIAL).with_max_elapsed(ms(900));
    g04: (attempts = 4, backoff = "100ms..1s", timeout = "250ms")
        = Policy::new(4, EXPONENTIAL).with_timeout(ms(250));
    g05: (attempts = 6, backoff = "50ms", timeout = "300ms", max_elapsed = "1s")
        = Policy::new(6, Backoff::constant(ms(50))).with_timeout(ms(300)).with_max_elapsed(ms(1000));
    g06: (attempts = 5, backoff = "100ms..1s", max_hint = "400ms")
        = Policy::new(5, EXPONENTIAL).with_max_hint(ms(400));
    g07: (attempts = 1) = Policy::DEFAULT.with_attempts(1);
    g08: (attempts = 8, backoff = "0s") = Policy::new(8, Backoff::constant(Duration::ZERO));
}

/// Runs one form on the paused clock: calls made, time taken, value returned.
fn run<F>(steps: &[Step], form: F) -> (usize, Duration, Result<u32, Fault>)
where
    F: for<'a> FnOnce(&'a Script) -> Pin<Box<dyn Future<Output = Result<u32, Fault>> + 'a>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let script = Script::new(steps);
        let start = Instant::now();
        let returned = form(&script).await;
        (script.calls(), start.elapsed(), returned)
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Transient(None)),
        2 => (0u64..700).prop_map(|hint| Step::Transient(Some(hint))),
        1 => Just(Step::Permanent),
        2 => (0u64..600).prop_map(Step::Slow),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_function_form_decides_exactly_as_the_attribute(
        case in 0..GRID.len(),
        steps in prop::collection::vec(step(), 8),
    ) {
        let (annotated, policy) = GRID[case];
        let by_attribute = run(&steps, annotated);
        let by_function = run(&steps, |script| Box::pin(policy.retry(|| script.call())));
        prop_assert_eq!(by_attribute, by_function);
    }
}

// ---- what the function form accepts and reports ----

static EVENTS: Mutex<Vec<(String, u32, Duration)>> = Mutex::new(Vec::new());

#[tokio::test(start_paused = true)]
async fn label_retry_if_and_on_retry_are_options_of_the_call() {
    let script = Script::new(&[Step::Permanent, Step::Permanent, Step::Slow(0)]);
    let start = Instant::now();
    let value = Policy::new(3, Backoff::constant(ms(40)))
        .retry(|| script.call())
        .label("create persona signing key")
        // The parameter's type is inferred from the operation's error.
        .retry_if(|fault| matches!(fault, Fault::Permanent(_)))
        .on_retry(|_, retry: &RetryEvent| {
            EVENTS.lock().unwrap().push((
                retry.function().to_owned(),
                retry.attempt(),
                retry.wait(),
            ));
        })
        .await;
    assert_eq!(value, Ok(3));
    assert_eq!(start.elapsed(), ms(80));
    assert_eq!(
        *EVENTS.lock().unwrap(),
        [
            ("create persona signing key".to_owned(), 1, ms(40)),
            ("create persona signing key".to_owned(), 2, ms(40))
        ]
    );
}

async fn create_key(script: &Script) -> Result<u32, Fault> {
    script.call().await
}

#[tokio::test(start_paused = true)]
async fn the_helpers_shape_takes_any_closure_returning_a_future() {
    // Not an `async` block: a closure calling an `async fn`.
    let script = Script::new(&[Step::Transient(None), Step::Slow(0)]);
    let start = Instant::now();
    let key = vta_retry("create persona signing key", || create_key(&script)).await;
    assert_eq!(key, Ok(2));
    assert_eq!(start.elapsed(), ms(500));

    let script = Script::new(&[Step::Transient(None); 3]);
    let start = Instant::now();
    let error = vta_retry("create persona signing key", || async {
        script.call().await
    })
    .await;
    assert_eq!(error, Err(Fault::Transient(3, None)));
    assert_eq!(start.elapsed(), ms(1500));
}

#[tokio::test(start_paused = true)]
async fn a_policy_timeout_cuts_the_function_forms_attempts_too() {
    let script = Script::new(&[Step::Slow(10_000), Step::Slow(10)]);
    let start = Instant::now();
    let policy = Policy::new(2, Backoff::constant(ms(100))).with_timeout(ms(1000));
    assert_eq!(policy.retry(|| script.call()).await, Ok(2));
    assert_eq!(start.elapsed(), ms(1000 + 100 + 10));
}

/// The original helper's call sites keep their shape: `vta_retry(op, f)` with `op: &str` of any
/// lifetime, and a label built at run time.
async fn the_original_helper(op: &str, script: &Script) -> Result<u32, Fault> {
    vta_retry(op, || script.call()).await
}

static LABELS: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[tokio::test(start_paused = true)]
async fn a_label_is_any_str_or_a_string() {
    let script = Script::new(&[Step::Slow(0)]);
    let op = String::from("create persona signing key");
    assert_eq!(the_original_helper(&op, &script).await, Ok(1));

    let persona = "alice";
    let script = Script::new(&[Step::Transient(None), Step::Slow(0)]);
    let value = Policy::new(2, Backoff::constant(ms(1)))
        .retry(|| script.call())
        .label(format!("create {persona}'s signing key"))
        .on_retry(|_, retry: &RetryEvent| {
            LABELS.lock().unwrap().push(retry.function().to_owned());
        })
        .await;
    assert_eq!(value, Ok(2));
    assert_eq!(*LABELS.lock().unwrap(), ["create alice's signing key"]);
}

/// An error without `From<TimedOut>`: the helper's policy has no timeout, so it does not ask.
#[derive(Debug, PartialEq)]
struct Plain;

impl fmt::Display for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("plain")
    }
}

impl Retryable for Plain {
    fn is_transient(&self) -> bool {
        true
    }
}

#[tokio::test(start_paused = true)]
async fn the_helpers_shape_needs_no_timed_out_conversion() {
    let calls = Mutex::new(0);
    let outcome = vta_retry("plain", || async {
        *calls.lock().unwrap() += 1;
        Err::<u32, _>(Plain)
    })
    .await;
    assert_eq!(outcome, Err(Plain));
    assert_eq!(*calls.lock().unwrap(), 3);
}

/// `context()` inside the closure that builds an attempt's future, not only inside the future.
#[tokio::test(start_paused = true)]
async fn the_closure_runs_inside_the_attempt() {
    let seen = Mutex::new(Vec::new());
    let calls = Mutex::new(0);
    let outcome = Policy::new(2, Backoff::constant(ms(1)))
        .retry(|| {
            let attempt = vta_retry_runtime::context().map(|c| c.attempt());
            seen.lock().unwrap().push(attempt);
            *calls.lock().unwrap() += 1;
            let fail = *calls.lock().unwrap() == 1;
            async move {
                if fail {
                    Err(Fault::Transient(1, None))
                } else {
                    Ok(2)
                }
            }
        })
        .await;
    assert_eq!(outcome, Ok(2));
    assert_eq!(*seen.lock().unwrap(), [Some(1), Some(2)]);
}

// ---- Spawned ----

/// A service whose method borrows it, as a client's do.
struct Service {
    calls: std::sync::atomic::AtomicU32,
}

impl Service {
    async fn get(&self) -> std::io::Result<u32> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if call == 1 {
            Err(std::io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(call)
        }
    }
}

/// A call whose closure borrows what it captured (`|| service.get()`) can be spawned, as the
/// hand-written helper it replaces could: rustc once failed to prove such a future `Send` ("one
/// type is more general than the other") for a type the call's future held.
#[tokio::test(start_paused = true)]
async fn a_call_whose_closure_borrows_its_capture_can_be_spawned() {
    let service = std::sync::Arc::new(Service {
        calls: std::sync::atomic::AtomicU32::new(0),
    });
    let captured = std::sync::Arc::clone(&service);
    let by_policy = tokio::spawn(async move { Policy::DEFAULT.retry(|| captured.get()).await });
    assert_eq!(by_policy.await.unwrap().unwrap(), 2);
    let captured = std::sync::Arc::clone(&service);
    let by_label = tokio::spawn(async move { vta_retry("get", || captured.get()).await });
    assert_eq!(by_label.await.unwrap().unwrap(), 3);
}
