//! Fleet safety: the call context and its idempotency key, one retry owner per call, and retry
//! budgets shared by every call that names them.

use std::collections::HashSet;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;
use vta_retry_runtime::{
    Backoff, CallContext, IdempotencyKey, Policy, RetryBudget, context, vta_retry,
};

fn reset() -> io::Error {
    io::ErrorKind::ConnectionReset.into()
}

/// Tests that share a static run one at a time (libtest runs tests on several threads).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---- the call context ----

/// What the body saw on each attempt, read in a helper two calls down.
static SEEN: Mutex<Vec<CallContext>> = Mutex::new(Vec::new());

fn record_context() {
    SEEN.lock()
        .unwrap()
        .push(context().expect("inside an attempt"));
}

async fn deep_inside() {
    tokio::task::yield_now().await;
    record_context();
}

#[vta_retry(attempts = 4, backoff = "10ms")]
async fn flaky_call(failures: u32, calls: &AtomicU32) -> io::Result<IdempotencyKey> {
    deep_inside().await;
    let key = context().expect("inside an attempt").idempotency_key();
    if calls.fetch_add(1, Ordering::SeqCst) < failures {
        return Err(reset());
    }
    Ok(key)
}

#[tokio::test(start_paused = true)]
async fn the_context_numbers_attempts_and_keeps_one_key_per_call() {
    let _serial = ONE_AT_A_TIME.lock().await;
    assert!(context().is_none(), "no context outside an attempt");
    SEEN.lock().unwrap().clear();
    let calls = AtomicU32::new(0);
    let key = flaky_call(2, &calls).await.unwrap();
    assert!(context().is_none(), "none after the call either");
    let seen = SEEN.lock().unwrap().clone();
    let attempts: Vec<(u32, u32)> = seen
        .iter()
        .map(|c| (c.attempt(), c.max_attempts()))
        .collect();
    assert_eq!(attempts, [(1, 4), (2, 4), (3, 4)]);
    let keys: HashSet<IdempotencyKey> = seen.iter().map(CallContext::idempotency_key).collect();
    assert_eq!(keys, HashSet::from([key]), "the same key on every attempt");
}

#[tokio::test(start_paused = true)]
async fn every_call_has_its_own_key() {
    // `flaky_call` records what it sees in `SEEN`, which the test above reads.
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut keys = HashSet::new();
    for _ in 0..1000 {
        let calls = AtomicU32::new(0);
        assert!(keys.insert(flaky_call(0, &calls).await.unwrap()));
    }
    assert_eq!(keys.len(), 1000);
}

#[tokio::test(start_paused = true)]
async fn calls_polled_together_on_one_task_each_see_their_own_context() {
    let _serial = ONE_AT_A_TIME.lock().await;
    SEEN.lock().unwrap().clear();
    let (a, b) = (AtomicU32::new(0), AtomicU32::new(0));
    // Interleaved on one task: each yields inside its attempt while the other runs.
    let (first, second) = tokio::join!(flaky_call(1, &a), flaky_call(0, &b));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_ne!(first, second);
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    let per_key = |key| seen.iter().filter(|c| c.idempotency_key() == key).count();
    assert_eq!((per_key(first), per_key(second)), (2, 1));
}

#[vta_retry(attempts = 1)]
async fn spawns_a_task() -> io::Result<(bool, bool)> {
    let inside = context().is_some();
    let spawned = tokio::spawn(async { context().is_some() }).await.unwrap();
    Ok((inside, spawned))
}

#[tokio::test]
async fn a_task_spawned_from_an_attempt_starts_without_a_context() {
    assert_eq!(spawns_a_task().await.unwrap(), (true, false));
}

#[tokio::test(start_paused = true)]
async fn the_function_form_has_the_same_context() {
    let policy = Policy::new(3, Backoff::constant(Duration::from_millis(5)));
    let calls = AtomicU32::new(0);
    let seen = Mutex::new(Vec::new());
    let value = policy
        .retry(|| async {
            let context = context().expect("inside an attempt");
            seen.lock()
                .unwrap()
                .push((context.attempt(), context.idempotency_key()));
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(reset());
            }
            Ok(7)
        })
        .await;
    assert_eq!(value.unwrap(), 7);
    let seen = seen.into_inner().unwrap();
    assert_eq!((seen[0].0, seen[1].0), (1, 2));
    assert_eq!(seen[0].1, seen[1].1);
}

// ---- one retry owner ----

/// Requests that reached the "server" at the bottom, and the contexts they were sent under.
static REQUESTS: Mutex<Vec<(u32, IdempotencyKey)>> = Mutex::new(Vec::new());

/// The bottom of the stack: every request fails while `DOWN` is set.
static DOWN: AtomicU32 = AtomicU32::new(0);

#[vta_retry(attempts = 3, backoff = "100ms")]
async fn innermost() -> io::Result<u32> {
    let context = context().expect("inside an attempt");
    REQUESTS
        .lock()
        .unwrap()
        .push((context.attempt(), context.idempotency_key()));
    if DOWN.load(Ordering::SeqCst) > 0 {
        DOWN.fetch_sub(1, Ordering::SeqCst);
        return Err(reset());
    }
    Ok(context.attempt())
}

#[vta_retry(attempts = 3, backoff = "100ms")]
async fn middle() -> io::Result<u32> {
    innermost().await
}

#[vta_retry(attempts = 3, backoff = "100ms")]
async fn outer() -> io::Result<u32> {
    middle().await
}

fn requests() -> Vec<(u32, IdempotencyKey)> {
    std::mem::take(&mut *REQUESTS.lock().unwrap())
}

#[tokio::test(start_paused = true)]
async fn nested_calls_make_attempts_not_attempts_to_the_power_of_depth() {
    let _serial = ONE_AT_A_TIME.lock().await;
    requests();
    // Two deep: 3 requests in all, not 9.
    DOWN.store(u32::MAX, Ordering::SeqCst);
    let start = Instant::now();
    assert!(middle().await.is_err());
    let two_deep = requests();
    assert_eq!(two_deep.len(), 3);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(200),
        "the outer call's waits only"
    );

    // Three deep: 3 requests, not 27, each under the outermost call's attempt number and key.
    let start = Instant::now();
    assert!(outer().await.is_err());
    let three_deep = requests();
    assert_eq!(
        three_deep.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(
        three_deep.iter().all(|r| r.1 == three_deep[0].1),
        "one key, the outer call's"
    );
    assert_ne!(three_deep[0].1, two_deep[0].1);
    assert_eq!(start.elapsed(), Duration::from_millis(200));
    DOWN.store(0, Ordering::SeqCst);
}

#[tokio::test(start_paused = true)]
async fn the_outer_call_retries_what_the_inner_one_returned() {
    let _serial = ONE_AT_A_TIME.lock().await;
    requests();
    DOWN.store(1, Ordering::SeqCst);
    assert_eq!(
        outer().await.unwrap(),
        2,
        "the second attempt of the outer call succeeded"
    );
    assert_eq!(requests().len(), 2);
}

/// Each attempt suspends, then reads its context; the first fails.
#[vta_retry(attempts = 3, backoff = "100ms")]
async fn suspends_then_fails_once(
    calls: &AtomicU32,
    seen: &Mutex<Vec<CallContext>>,
) -> io::Result<IdempotencyKey> {
    tokio::task::yield_now().await;
    let context = context().expect("inside an attempt");
    seen.lock().unwrap().push(context);
    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(reset());
    }
    Ok(context.idempotency_key())
}

/// Another call, whose one attempt finishes a future started elsewhere.
#[vta_retry(attempts = 3, backoff = "100ms")]
async fn finishes<F: Future<Output = io::Result<IdempotencyKey>>>(
    mut started: Pin<&mut F>,
) -> io::Result<io::Result<IdempotencyKey>> {
    Ok(started.as_mut().await)
}

#[tokio::test(start_paused = true)]
async fn a_call_started_outside_any_other_stays_its_own_owner_when_finished_inside_one() {
    let calls = AtomicU32::new(0);
    let seen = Mutex::new(Vec::new());
    let mut started = pin!(suspends_then_fails_once(&calls, &seen));
    // Its first poll, outside any other call's attempt, starts it: it owns retry.
    let first = poll_fn(|cx| Poll::Ready(started.as_mut().poll(cx))).await;
    assert!(first.is_pending());
    // Resumed inside another call's attempt, it still runs under its own context, and retries
    // its own failure rather than leave it to the other call.
    let key = finishes(started).await.unwrap().expect("retried by itself");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let seen = seen.lock().unwrap();
    let seen: Vec<_> = seen
        .iter()
        .map(|c| (c.attempt(), c.idempotency_key()))
        .collect();
    assert_eq!(
        seen,
        [(1, key), (2, key)],
        "its own context on both attempts"
    );
}

// ---- retry budgets ----

static OUTAGE_BUDGET: RetryBudget = RetryBudget::new(20, 0.1);
static SERVICE_UP: AtomicU32 = AtomicU32::new(0);
static ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[vta_retry(attempts = 3, backoff = "1ms", budget = OUTAGE_BUDGET)]
async fn budgeted_call() -> io::Result<()> {
    ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await;
    if SERVICE_UP.load(Ordering::SeqCst) == 0 {
        return Err(reset());
    }
    Ok(())
}

/// 1,000 calls on a multi-thread runtime during a full outage: retries stop once the budget
/// is half spent, and no race lets more through, since every retry follows its own failure's
/// token. Then the service recovers: successes refill the budget and every call succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_budget_bounds_retries_under_concurrency_and_refills_on_recovery() {
    const CALLS: u32 = 1000;
    let calls = || {
        (0..CALLS)
            .map(|_| tokio::spawn(budgeted_call()))
            .collect::<Vec<_>>()
    };
    for task in calls() {
        assert!(task.await.unwrap().is_err());
    }
    let sent = ATTEMPTS.swap(0, Ordering::SeqCst);
    // 20 tokens: a retry is allowed only to a failure that leaves more than 10, which the first
    // 9 failures do, whatever their order: at most 9 retries in all.
    assert!(
        (CALLS..=CALLS + 9).contains(&sent),
        "{sent} attempts for {CALLS} calls"
    );
    assert!(!OUTAGE_BUDGET.allows_retry());

    SERVICE_UP.store(1, Ordering::SeqCst);
    for task in calls() {
        task.await.unwrap().unwrap();
    }
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), CALLS);
    assert_eq!(OUTAGE_BUDGET.tokens(), OUTAGE_BUDGET.max_tokens());
    assert!(OUTAGE_BUDGET.allows_retry());
}

static REFUSING_BUDGET: RetryBudget = RetryBudget::new(2, 0.5);

#[vta_retry(attempts = 5, backoff = "1s", budget = REFUSING_BUDGET)]
async fn refused_by_the_budget(calls: &AtomicU32) -> io::Result<()> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(reset())
}

#[tokio::test(start_paused = true)]
async fn a_retry_the_budget_refuses_returns_the_error_at_once() {
    // Two tokens: the first failure leaves one, which is not above half: no retry at all.
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    assert_eq!(
        refused_by_the_budget(&calls).await.unwrap_err().kind(),
        io::ErrorKind::ConnectionReset
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

static SHARED: RetryBudget = RetryBudget::new(4, 1.0);

#[vta_retry(attempts = 10, backoff = "1ms", budget = SHARED)]
async fn shares_a_budget(calls: &AtomicU32) -> io::Result<()> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(reset())
}

#[tokio::test(start_paused = true)]
async fn functions_and_the_function_form_draw_on_one_static_budget() {
    // Four tokens, retries while more than two remain: the attribute's call makes two
    // attempts (4 → 3, retry; 3 → 2, stop); the function form's call then finds none left.
    let calls = AtomicU32::new(0);
    assert!(shares_a_budget(&calls).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let policy = Policy::new(10, Backoff::constant(Duration::from_millis(1))).with_budget(&SHARED);
    let calls = AtomicU32::new(0);
    let outcome: io::Result<()> = policy
        .retry(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(reset())
        })
        .await;
    assert!(outcome.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
