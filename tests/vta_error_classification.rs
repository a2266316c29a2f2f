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
