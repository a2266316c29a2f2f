//! The `VtaError` table: every variant on the side the README says it is on.

use std::time::Duration;

use chrono::Utc;
use vta_retry_runtime::{Retryable, TimedOut, vta_retryable};
use vta_sdk::error::{RateLimitSource, VtaError};

fn rate_limited(wait: Option<chrono::TimeDelta>) -> VtaError {
    VtaError::RateLimited {
        limited_by: RateLimitSource::Vta,
        retry_after: wait.map(|w| Utc::now() + w),
        limiter: None,
        url: None,
    }
}

fn server(status: u16) -> VtaError {
    VtaError::Server {
        status,
        body: String::new(),
    }
}

/// A real `reqwest::Error`, as the SDK's REST client wraps into `VtaError::Network`.
fn network_error() -> VtaError {
    let error = reqwest::Client::new()
        .get("not a url")
        .build()
        .expect_err("a relative URL cannot be requested");
    VtaError::Network(error)
}

#[test]
fn transient_variants_are_retried() {
    let transient = [
        VtaError::DidcommTransport("timeout waiting for DIDComm response".into()),
        VtaError::TspTransport("websocket closed".into()),
        network_error(),
        VtaError::Unavailable { retry_after: None },
        VtaError::Unavailable {
            retry_after: Some(Utc::now() + chrono::TimeDelta::hours(1)),
        },
        rate_limited(None),
        rate_limited(Some(chrono::TimeDelta::seconds(4))),
        rate_limited(Some(chrono::TimeDelta::seconds(-10))),
    ];
    for error in transient {
        assert!(vta_retryable(&error), "{error:?} should be retried");
        assert!(error.is_transient(), "the trait must agree: {error:?}");
    }
}

#[test]
fn deterministic_variants_are_never_retried() {
    let deterministic = [
        VtaError::Validation("bad".into()),
        VtaError::Conflict("exists".into()),
        VtaError::NotFound("missing".into()),
        VtaError::Auth("expired".into()),
        VtaError::Forbidden("no".into()),
        VtaError::Gone("consumed".into()),
        VtaError::RepliesNotArriving {
            consecutive_timeouts: 3,
        },
        VtaError::Protocol("shape".into()),
        VtaError::Serialization(serde_json::from_str::<u8>("x").unwrap_err()),
        VtaError::UnsupportedTransport("rest only".into()),
        VtaError::DidcommRemote {
            code: "e.x".into(),
            comment: "x".into(),
        },
        VtaError::LastServiceRefused,
        VtaError::Other("anything".into()),
    ];
    for error in deterministic {
        assert!(!vta_retryable(&error), "{error:?} must not be retried");
        assert!(!error.is_transient(), "the trait must agree: {error:?}");
    }
}

#[test]
fn server_errors_are_transient_except_the_ones_a_resend_cannot_fix() {
    for status in [500, 502, 503, 504, 509, 520, 599] {
        assert!(vta_retryable(&server(status)), "{status}");
    }
    for status in [501, 505, 506, 507, 508, 510, 511, 418, 600] {
        assert!(!vta_retryable(&server(status)), "{status}");
    }
}

/// How long a rate limit may ask to wait is the policy's decision (`max_hint`), not the
/// classifier's: every rate limit is transient, and its wait is its hint.
#[test]
fn a_rate_limit_is_transient_whatever_wait_it_asks_for() {
    for seconds in [0, 29, 32, 120] {
        let error = rate_limited(Some(chrono::TimeDelta::seconds(seconds)));
        assert!(vta_retryable(&error), "{seconds} s");
    }
    assert!(vta_retryable(&rate_limited(None)));
}

#[test]
fn a_timed_out_attempt_is_a_transient_504() {
    let error = VtaError::from(TimedOut::new(Duration::from_secs(5)));
    assert!(matches!(&error, VtaError::Server { status: 504, body } if body.contains("5s")));
    assert!(vta_retryable(&error));
}

#[test]
fn the_server_hint_is_the_time_left_until_the_instant_it_named() {
    let hint = rate_limited(Some(chrono::TimeDelta::seconds(20)))
        .retry_after()
        .expect("a hint");
    // The wall clock moved between building the error and reading it, by less than a second.
    assert!(
        hint <= Duration::from_secs(20) && hint > Duration::from_secs(19),
        "{hint:?}"
    );
    let past = rate_limited(Some(chrono::TimeDelta::seconds(-5)));
    assert_eq!(past.retry_after(), Some(Duration::ZERO));
    assert_eq!(rate_limited(None).retry_after(), None);
    assert_eq!(VtaError::Validation("x".into()).retry_after(), None);
}

#[test]
fn unavailable_is_in_progress_and_a_rate_limit_is_not() {
    let still_running = VtaError::Unavailable {
        retry_after: Some(Utc::now() + chrono::TimeDelta::minutes(5)),
    };
    assert!(still_running.in_progress());
    assert!(!rate_limited(Some(chrono::TimeDelta::minutes(5))).in_progress());
    assert!(!server(503).in_progress());
}

#[test]
fn a_key_reused_for_a_different_request_is_recognised() {
    let refused = |code: &str, details: Option<serde_json::Value>| VtaError::Rejected {
        code: code.into(),
        message: "task failed: idempotency key reused for a different request".into(),
        details,
    };
    let key = serde_json::json!({ "idempotencyKey": "urn:uuid:0", "task": "keys/create" });
    assert!(refused("taskFailed", Some(key.clone())).idempotency_key_reused());
    assert!(
        !refused("taskFailed", Some(serde_json::json!({ "reason": "other" })))
            .idempotency_key_reused()
    );
    assert!(!refused("taskFailed", None).idempotency_key_reused());
    assert!(!refused("versionConflict", Some(key)).idempotency_key_reused());
    assert!(!vta_retryable(&refused("taskFailed", None)));
}

// ---- the VTA's answers, read as the VTA means them (tokio's paused clock) ----

/// Answers from a script, counting calls.
struct Vta {
    answers: std::sync::Mutex<std::collections::VecDeque<Result<u32, VtaError>>>,
    calls: std::sync::atomic::AtomicU32,
}

impl Vta {
    fn new(answers: impl IntoIterator<Item = Result<u32, VtaError>>) -> Self {
        Self {
            answers: std::sync::Mutex::new(answers.into_iter().collect()),
            calls: std::sync::atomic::AtomicU32::new(0),
        }
    }

    fn call(&self) -> Result<u32, VtaError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.answers.lock().unwrap().pop_front().expect("scripted")
    }

    fn calls(&self) -> u32 {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[vta_retry_runtime::vta_retry(attempts = 3, backoff = "500ms", vta_key = false)]
async fn create(vta: &Vta) -> Result<u32, VtaError> {
    tokio::task::yield_now().await;
    vta.call()
}

#[vta_retry_runtime::vta_retry(attempts = 3, backoff = "500ms", vta_key = false, retry_if = vta_retryable)]
async fn create_if(vta: &Vta) -> Result<u32, VtaError> {
    tokio::task::yield_now().await;
    vta.call()
}

/// An earlier attempt under the key is still running, and the VTA says to come back in a minute:
/// the call waits `max_hint` (30 s, vta-sdk's own cap) and asks again, for the answer it was
/// told to wait for, rather than giving up at once.
#[tokio::test(start_paused = true)]
async fn unavailable_past_max_hint_is_waited_up_to_max_hint_and_asked_again() {
    let vta = Vta::new([
        Err(VtaError::Unavailable {
            retry_after: Some(Utc::now() + chrono::TimeDelta::minutes(1)),
        }),
        Ok(7),
    ]);
    let start = tokio::time::Instant::now();
    assert_eq!(create(&vta).await.unwrap(), 7);
    assert_eq!(vta.calls(), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(30));
}

/// A rate limit asking for a minute is a refusal: a retry sooner would be refused again.
#[tokio::test(start_paused = true)]
async fn a_rate_limit_past_max_hint_gives_up_at_once() {
    let vta = Vta::new([Err(rate_limited(Some(chrono::TimeDelta::minutes(1))))]);
    let start = tokio::time::Instant::now();
    assert!(matches!(
        create(&vta).await,
        Err(VtaError::RateLimited { .. })
    ));
    assert_eq!(vta.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

/// `retry_if` decides whether to retry, never when: the type's hint still sets the wait. The
/// README's own `retry_if = vta_retryable` sends a 429 that asked for a minute once, as the type
/// does, not three times in a second.
#[tokio::test(start_paused = true)]
async fn retry_if_keeps_the_servers_hint() {
    let vta = Vta::new([Err(rate_limited(Some(chrono::TimeDelta::minutes(1))))]);
    let start = tokio::time::Instant::now();
    assert!(matches!(
        create_if(&vta).await,
        Err(VtaError::RateLimited { .. })
    ));
    assert_eq!(
        vta.calls(),
        1,
        "given up at once, as the type's own classifier does"
    );
    assert_eq!(start.elapsed(), Duration::ZERO);

    let vta = Vta::new([
        Err(rate_limited(Some(chrono::TimeDelta::seconds(2)))),
        Ok(1),
    ]);
    let start = tokio::time::Instant::now();
    assert_eq!(create_if(&vta).await.unwrap(), 1);
    assert_eq!(vta.calls(), 2);
    // The hint is the time left until an instant on the wall clock: a little under 2 s by the
    // time it is read, and far above the 500 ms backoff.
    let waited = start.elapsed();
    assert!(
        waited > Duration::from_millis(1900) && waited <= Duration::from_secs(2),
        "the hint, not the 500 ms backoff: {waited:?}"
    );
}
