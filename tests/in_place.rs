//! A body that awaits nothing and cannot leave early runs in place, without a future of its own:
//! everything an attempt promises holds there too. Its context is published while it runs and
//! withdrawn after, a panic included; its key survives the waits between attempts; and a call
//! made inside another's attempt makes one attempt.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use vta_retry_runtime::{CallContext, context, vta_retry};

fn reset() -> io::Error {
    io::ErrorKind::ConnectionReset.into()
}

/// Fails while `failures` is above the calls made so far, recording each call's context.
fn attempt(failures: u32, calls: &AtomicU32, seen: &Mutex<Vec<CallContext>>) -> io::Result<u32> {
    seen.lock()
        .unwrap()
        .push(context().expect("inside an attempt"));
    let call = calls.fetch_add(1, Ordering::SeqCst);
    if call < failures {
        Err(reset())
    } else {
        Ok(call + 1)
    }
}

#[vta_retry(attempts = 4, backoff = "10ms")]
async fn in_place(
    failures: u32,
    calls: &AtomicU32,
    seen: &Mutex<Vec<CallContext>>,
) -> io::Result<u32> {
    attempt(failures, calls, seen)
}

#[tokio::test(start_paused = true)]
async fn the_context_is_published_for_each_attempt_with_one_key_across_the_waits() {
    let (calls, seen) = (AtomicU32::new(0), Mutex::new(Vec::new()));
    let start = Instant::now();
    assert_eq!(in_place(2, &calls, &seen).await.unwrap(), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(10 + 10));
    assert!(context().is_none(), "withdrawn after the call");
    let seen = seen.into_inner().unwrap();
    let attempts: Vec<(u32, u32)> = seen
        .iter()
        .map(|c| (c.attempt(), c.max_attempts()))
        .collect();
    assert_eq!(attempts, [(1, 4), (2, 4), (3, 4)]);
    assert!(
        seen.iter()
            .all(|c| c.idempotency_key() == seen[0].idempotency_key()),
        "the key drawn on the first attempt is kept across both waits"
    );

    // The next call has a key of its own.
    let (calls, again) = (AtomicU32::new(0), Mutex::new(Vec::new()));
    in_place(0, &calls, &again).await.unwrap();
    assert_ne!(
        again.into_inner().unwrap()[0].idempotency_key(),
        seen[0].idempotency_key()
    );
}

#[vta_retry(attempts = 3, backoff = "10ms")]
async fn outer(calls: &AtomicU32, seen: &Mutex<Vec<CallContext>>) -> io::Result<u32> {
    in_place(u32::MAX, calls, seen).await
}

#[tokio::test(start_paused = true)]
async fn inside_another_calls_attempt_it_makes_one_attempt_under_that_context() {
    let (calls, seen) = (AtomicU32::new(0), Mutex::new(Vec::new()));
    let start = Instant::now();
    assert!(outer(&calls, &seen).await.is_err());
    assert_eq!(
        calls.into_inner(),
        3,
        "the outer call's 3 attempts, not 3 × 4"
    );
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(10 + 10),
        "the outer call's waits only"
    );
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen.iter()
            .map(|c| (c.attempt(), c.max_attempts()))
            .collect::<Vec<_>>(),
        [(1, 3), (2, 3), (3, 3)],
        "the outer call's context"
    );
}

fn explode() -> io::Result<u32> {
    panic!("the body panicked")
}

#[vta_retry(attempts = 3, backoff = "10ms")]
async fn panics() -> io::Result<u32> {
    explode()
}

#[tokio::test(start_paused = true)]
async fn a_panic_withdraws_the_context() {
    // On the current-thread runtime the spawned task runs on this thread, which the context
    // belongs to.
    assert!(tokio::spawn(panics()).await.unwrap_err().is_panic());
    assert!(context().is_none());
    // A later call owns retry: it is not taken for one nested in a dead call's attempt.
    let (calls, seen) = (AtomicU32::new(0), Mutex::new(Vec::new()));
    assert_eq!(in_place(1, &calls, &seen).await.unwrap(), 2);
}

/// A `timeout` is checked and accepted on a body that has nothing to wait on, so that adding an
/// `.await` to it later changes nothing about whether it compiles.
#[vta_retry(attempts = 2, timeout = "1s", backoff = "10ms")]
async fn bounded(calls: &AtomicU32, seen: &Mutex<Vec<CallContext>>) -> io::Result<u32> {
    attempt(1, calls, seen)
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_accepted_and_the_attempts_still_counted() {
    let (calls, seen) = (AtomicU32::new(0), Mutex::new(Vec::new()));
    assert_eq!(bounded(&calls, &seen).await.unwrap(), 2);
    assert_eq!(seen.into_inner().unwrap().len(), 2);
}
