//! What `#[vta_retry]` does at run time, on tokio's paused clock: how many calls, how long each
//! wait, and what comes back. The five scenarios the original hand-written helper was tested with
//! come first, now with the real `VtaError`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use vta_retry_runtime::vta_retry;
use vta_retry_tests::{Script, ms};
use vta_sdk::error::VtaError;

fn stale_session() -> VtaError {
    VtaError::DidcommTransport("timeout waiting for DIDComm response".into())
}

#[vta_retry(attempts = 3, backoff = "500ms..1s")]
async fn create_signing_key(script: &Script<VtaError>) -> Result<u32, VtaError> {
    script.call()
}

#[vta_retry]
async fn with_defaults(script: &Script<VtaError>) -> Result<u32, VtaError> {
    script.call()
}

#[tokio::test(start_paused = true)]
async fn success_is_not_retried() {
    let script = Script::new([Ok(7)]);
    let start = Instant::now();
    assert_eq!(create_signing_key(&script).await.unwrap(), 7);
    assert_eq!(script.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_is_retried_after_exactly_500ms() {
    let script = Script::new([Err(stale_session()), Ok(7)]);
    let start = Instant::now();
    assert_eq!(create_signing_key(&script).await.unwrap(), 7);
    assert_eq!(script.calls(), 2);
    assert_eq!(start.elapsed(), ms(500));
    assert_eq!(script.waits(), [ms(500)]);
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_three_calls_and_returns_the_last_error_unchanged() {
    let script = Script::new([
        Err(VtaError::DidcommTransport("first".into())),
        Err(VtaError::Server {
            status: 503,
            body: "second".into(),
        }),
        Err(VtaError::TspTransport("third".into())),
    ]);
    let start = Instant::now();
    let error = create_signing_key(&script).await.unwrap_err();
    assert!(
        matches!(&error, VtaError::TspTransport(m) if m == "third"),
        "{error:?}"
    );
    assert_eq!(script.calls(), 3);
    assert_eq!(script.waits(), [ms(500), ms(1000)]);
    assert_eq!(start.elapsed(), ms(1500));
}

#[tokio::test(start_paused = true)]
async fn deterministic_errors_return_at_once() {
    let deterministic = [
        VtaError::Validation("label too long".into()),
        VtaError::Conflict("key id already exists".into()),
        VtaError::NotFound("no such context".into()),
        VtaError::Auth("token expired".into()),
        VtaError::Forbidden("not an admin".into()),
        VtaError::Gone("carve-out consumed".into()),
    ];
    for error in deterministic {
        let expected = error.to_string();
        let script = Script::new([Err(error)]);
        let start = Instant::now();
        let returned = create_signing_key(&script).await.unwrap_err();
        assert_eq!(returned.to_string(), expected);
        assert_eq!(script.calls(), 1, "{expected} was retried");
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

#[tokio::test(start_paused = true)]
async fn the_bare_attribute_is_the_original_helper_policy() {
    let script = Script::new([
        Err(stale_session()),
        Err(stale_session()),
        Err(stale_session()),
    ]);
    assert!(with_defaults(&script).await.is_err());
    assert_eq!(script.waits(), [ms(500), ms(1000)]);
}

#[vta_retry(attempts = 5, backoff = "100ms..1s")]
async fn five_attempts(script: &Script<VtaError>) -> Result<u32, VtaError> {
    script.call()
}

#[tokio::test(start_paused = true)]
async fn waits_double_from_the_first_wait() {
    let script = Script::new((0..5).map(|_| Err(stale_session())));
    let start = Instant::now();
    assert!(five_attempts(&script).await.is_err());
    assert_eq!(script.waits(), [ms(100), ms(200), ms(400), ms(800)]);
    assert_eq!(start.elapsed(), ms(1500));
}

#[vta_retry(attempts = 6, backoff = "300ms..1s")]
async fn capped(script: &Script<VtaError>) -> Result<u32, VtaError> {
    script.call()
}

#[tokio::test(start_paused = true)]
async fn waits_never_exceed_the_cap() {
    let script = Script::new((0..6).map(|_| Err(stale_session())));
    assert!(capped(&script).await.is_err());
    assert_eq!(
        script.waits(),
        [ms(300), ms(600), ms(1000), ms(1000), ms(1000)]
    );
}

#[vta_retry(attempts = 4, backoff = "1.5s")]
async fn constant(script: &Script<VtaError>) -> Result<u32, VtaError> {
    script.call()
}

#[tokio::test(start_paused = true)]
async fn a_single_duration_is_a_constant_wait() {
    let script = Script::new((0..4).map(|_| Err(stale_session())));
    assert!(constant(&script).await.is_err());
    assert_eq!(script.waits(), [ms(1500), ms(1500), ms(1500)]);
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn immediate(script: &Script<VtaError>) -> Result<u32, VtaError> {
    script.call()
}

#[tokio::test(start_paused = true)]
async fn a_zero_backoff_retries_at_once() {
    let script = Script::new([Err(stale_session()), Err(stale_session()), Ok(1)]);
    let start = Instant::now();
    assert_eq!(immediate(&script).await.unwrap(), 1);
    assert_eq!(script.calls(), 3);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[vta_retry(attempts = 1)]
async fn once(script: &Script<VtaError>) -> Result<u32, VtaError> {
    script.call()
}

#[tokio::test(start_paused = true)]
async fn one_attempt_never_retries() {
    let script = Script::new([Err(stale_session())]);
    assert!(once(&script).await.is_err());
    assert_eq!(script.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_mid_backoff_stops_every_attempt() {
    let script = Script::new([Err(stale_session()), Ok(1)]);
    let call = create_signing_key(&script);
    // Long enough to make the first call and start the 500 ms wait, not to finish it.
    let outcome = tokio::time::timeout(ms(200), call).await;
    assert!(outcome.is_err(), "the call should still be waiting");
    assert_eq!(script.calls(), 1);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        script.calls(),
        1,
        "an attempt ran after the future was dropped"
    );
}

#[vta_retry(attempts = 3, backoff = "10ms")]
async fn question_mark_and_return(script: &Script<VtaError>, early: bool) -> Result<u32, VtaError> {
    if early {
        return Ok(99);
    }
    let value = script.call()?;
    Ok(value + 1)
}

#[tokio::test(start_paused = true)]
async fn return_and_question_mark_end_the_attempt_not_the_call() {
    let script = Script::new([Err(stale_session()), Ok(1)]);
    assert_eq!(question_mark_and_return(&script, false).await.unwrap(), 2);
    assert_eq!(
        script.calls(),
        2,
        "`?` should have ended only the first attempt"
    );
    let script = Script::new([]);
    assert_eq!(question_mark_and_return(&script, true).await.unwrap(), 99);
}

static PANICKING_CALLS: AtomicU32 = AtomicU32::new(0);

#[vta_retry(attempts = 3, backoff = "10ms")]
async fn panics() -> Result<u32, VtaError> {
    PANICKING_CALLS.fetch_add(1, Ordering::SeqCst);
    panic!("a bug in the body");
}

#[tokio::test(start_paused = true)]
async fn a_panic_propagates_unchanged_and_is_not_retried() {
    let caught = futures_catch_unwind(panics()).await;
    let payload = caught.expect_err("the panic was swallowed");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"a bug in the body"));
    assert_eq!(PANICKING_CALLS.load(Ordering::SeqCst), 1);
}

/// Polls `future` to completion, catching a panic from any poll.
async fn futures_catch_unwind<F: std::future::Future>(future: F) -> std::thread::Result<F::Output> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(value)) => std::task::Poll::Ready(Ok(value)),
            Err(payload) => std::task::Poll::Ready(Err(payload)),
        }
    })
    .await
}

fn is_send<T: Send>(_: &T) {}

#[test]
fn the_future_is_send_when_the_body_is() {
    let script = Script::new([Ok(1)]);
    is_send(&create_signing_key(&script));
}

// ---- a zero wait still yields to the scheduler ----

static BURNED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Fails at once, without waiting on anything, every time.
#[vta_retry(attempts = 1000000, backoff = "0s")]
async fn always_failing_at_once() -> Result<u32, std::io::Error> {
    BURNED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Err(std::io::ErrorKind::ConnectionReset.into())
}

/// With no wait between attempts, the loop spends tokio's cooperative budget and yields once it
/// is spent: a `select!` around the call gets its turn, and stops it. Without the yield, every
/// attempt would run inside the first poll, and the call would return first.
#[tokio::test(start_paused = true)]
async fn a_zero_wait_spends_the_cooperative_budget_and_yields() {
    let stopped = tokio::select! {
        biased;
        _ = always_failing_at_once() => false,
        () = tokio::task::yield_now() => true,
    };
    assert!(stopped, "the other branch got its turn");
    let burned = BURNED.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        burned < 1_000,
        "stopped after one budget's worth of attempts, not {burned}"
    );

    let policy = vta_retry_runtime::Policy::new(
        1_000_000,
        vta_retry_runtime::Backoff::constant(std::time::Duration::ZERO),
    );
    let calls = std::sync::atomic::AtomicU32::new(0);
    let stopped = tokio::select! {
        biased;
        _ = policy.retry(|| async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err::<u32, _>(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
        }) => false,
        () = tokio::task::yield_now() => true,
    };
    assert!(stopped, "the function form yields too");
    assert!(calls.load(std::sync::atomic::Ordering::SeqCst) < 1_000);
}
