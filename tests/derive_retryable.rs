//! `#[derive(Retryable)]`: every form of the attribute classifies and hints as declared, beside
//! thiserror's derive, and the classification drives `#[vta_retry]` on tokio's paused clock.
//!
//! Pedantic lints are on here so that the generated impls are checked against them too, as they
//! would be in a user's crate that turns them on.
#![warn(clippy::pedantic)]

use std::error::Error as _;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use vta_retry_runtime::{Retryable, vta_retry};

const HINT: Duration = Duration::from_millis(250);

/// The derive beside thiserror's, as users write it: every marker, and both hint types.
#[derive(Debug, thiserror::Error, Retryable)]
enum StoreError {
    #[error("timed out")]
    #[retryable(transient)]
    Timeout,
    #[error("HTTP {status}")]
    #[retryable(transient_if = Self::is_server_error)]
    Http {
        status: u16,
        #[retryable(retry_after)]
        retry_after: Option<Duration>,
    },
    #[error("rate limited")]
    #[retryable(transient)]
    RateLimited(#[retryable(retry_after)] Duration),
    #[error(transparent)]
    #[retryable(delegate)]
    Io(#[from] io::Error),
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl StoreError {
    fn is_server_error(&self) -> bool {
        matches!(
            self,
            Self::Http {
                status: 500..=599,
                ..
            }
        )
    }

    fn http(status: u16) -> Self {
        Self::Http {
            status,
            retry_after: None,
        }
    }
}

fn io_error(kind: io::ErrorKind) -> io::Error {
    io::Error::from(kind)
}

#[test]
fn marked_variants_are_transient_and_unmarked_ones_permanent() {
    assert!(StoreError::Timeout.is_transient());
    assert!(StoreError::RateLimited(HINT).is_transient());
    assert!(!StoreError::Invalid("no name".into()).is_transient());
    assert_eq!(StoreError::Timeout.retry_after(), None);
    assert_eq!(StoreError::Invalid("no name".into()).retry_after(), None);
}

#[test]
fn transient_if_asks_the_function_about_the_variant_data() {
    for status in [500, 502, 503, 599] {
        assert!(StoreError::http(status).is_transient(), "{status}");
    }
    for status in [400, 404, 409, 600] {
        assert!(!StoreError::http(status).is_transient(), "{status}");
    }
}

/// The other two shapes, with the hint not in the first position, spelled with full paths.
#[derive(Debug, Retryable)]
enum Hinted {
    #[retryable(transient)]
    Named {
        attempt: u32,
        #[retryable(retry_after)]
        wait: std::time::Duration,
    },
    Tuple(u8, #[retryable(retry_after)] std::option::Option<Duration>),
}

#[test]
fn a_hint_field_is_returned_whatever_its_shape() {
    // Named `Option<Duration>`, both ways.
    let hinted = StoreError::Http {
        status: 503,
        retry_after: Some(HINT),
    };
    assert_eq!(hinted.retry_after(), Some(HINT));
    assert_eq!(StoreError::http(503).retry_after(), None);
    // Tuple `Duration`.
    assert_eq!(StoreError::RateLimited(HINT).retry_after(), Some(HINT));
    // Named `Duration`, tuple `Option<Duration>`.
    let named = Hinted::Named {
        attempt: 1,
        wait: HINT,
    };
    assert_eq!(named.retry_after(), Some(HINT));
    assert!(named.is_transient());
    assert!(matches!(named, Hinted::Named { attempt: 1, .. }));
    let tuple = Hinted::Tuple(7, Some(HINT));
    assert_eq!(tuple.retry_after(), Some(HINT));
    assert!(!tuple.is_transient());
    assert!(matches!(tuple, Hinted::Tuple(7, _)));
    assert_eq!(Hinted::Tuple(7, None).retry_after(), None);
}

#[test]
fn delegate_classifies_by_the_io_error() {
    let reset = StoreError::from(io_error(io::ErrorKind::ConnectionReset));
    assert!(reset.is_transient());
    let missing = StoreError::from(io_error(io::ErrorKind::NotFound));
    assert!(!missing.is_transient());
    assert_eq!(reset.retry_after(), None);
}

/// A hand-written classifier with a hint, to see the hint pass through `delegate`.
#[derive(Debug)]
struct Throttle {
    wait: Duration,
    transient: bool,
}

impl Retryable for Throttle {
    fn is_transient(&self) -> bool {
        self.transient
    }

    fn retry_after(&self) -> Option<Duration> {
        Some(self.wait)
    }
}

#[derive(Debug, Retryable)]
enum Upstream {
    #[retryable(delegate)]
    Tuple(Throttle),
    #[retryable(delegate)]
    Named {
        source: Throttle,
    },
    Down,
}

#[test]
fn delegate_passes_the_hint_and_the_answer_through() {
    let throttle = |transient| Throttle {
        wait: HINT,
        transient,
    };
    assert!(Upstream::Tuple(throttle(true)).is_transient());
    assert!(!Upstream::Tuple(throttle(false)).is_transient());
    assert!(
        Upstream::Named {
            source: throttle(true)
        }
        .is_transient()
    );
    assert!(
        !Upstream::Named {
            source: throttle(false)
        }
        .is_transient()
    );
    assert_eq!(Upstream::Tuple(throttle(false)).retry_after(), Some(HINT));
    assert_eq!(
        Upstream::Named {
            source: throttle(true)
        }
        .retry_after(),
        Some(HINT)
    );
    assert!(!Upstream::Down.is_transient());
    assert_eq!(Upstream::Down.retry_after(), None);
}

// ---- structs ----

#[derive(Debug, Retryable)]
#[retryable(transient)]
struct Busy;

#[derive(Debug, Retryable)]
struct Refused;

#[derive(Debug, Retryable)]
#[retryable(transient)]
struct Throttled(#[retryable(retry_after)] Duration);

#[derive(Debug, Retryable)]
#[retryable(transient_if = Overloaded::is_busy)]
struct Overloaded {
    load: u8,
    #[retryable(retry_after)]
    wait: Option<Duration>,
}

impl Overloaded {
    fn is_busy(&self) -> bool {
        self.load > 90
    }
}

#[derive(Debug, Retryable)]
#[retryable(delegate)]
struct Connection {
    error: io::Error,
}

#[derive(Debug, Retryable)]
#[retryable(delegate)]
struct Relayed(Throttle);

#[test]
fn structs_unit_tuple_and_named() {
    assert!(Busy.is_transient());
    assert!(!Refused.is_transient());
    assert_eq!(Busy.retry_after(), None);

    assert!(Throttled(HINT).is_transient());
    assert_eq!(Throttled(HINT).retry_after(), Some(HINT));

    let busy = Overloaded {
        load: 95,
        wait: Some(HINT),
    };
    assert!(busy.is_transient());
    assert_eq!(busy.retry_after(), Some(HINT));
    let calm = Overloaded {
        load: 10,
        wait: None,
    };
    assert!(!calm.is_transient());
    assert_eq!(calm.retry_after(), None);

    let reset = Connection {
        error: io_error(io::ErrorKind::ConnectionReset),
    };
    assert!(reset.is_transient());
    let denied = Connection {
        error: io_error(io::ErrorKind::PermissionDenied),
    };
    assert!(!denied.is_transient());

    let relayed = Relayed(Throttle {
        wait: HINT,
        transient: true,
    });
    assert!(relayed.is_transient());
    assert_eq!(relayed.retry_after(), Some(HINT));
}

// ---- generics ----

#[derive(Debug, Retryable)]
enum Wrapped<E> {
    #[retryable(delegate)]
    Inner(E),
    Fatal,
}

/// Needs `Wrapped<E>: Retryable`, which the derive gives exactly when `E: Retryable`.
fn classify<E: Retryable>(error: &E) -> (bool, Option<Duration>) {
    (error.is_transient(), error.retry_after())
}

#[test]
fn a_generic_enum_delegates_to_its_parameter() {
    let reset: Wrapped<io::Error> = Wrapped::Inner(io_error(io::ErrorKind::ConnectionReset));
    assert_eq!(classify(&reset), (true, None));
    let missing: Wrapped<io::Error> = Wrapped::Inner(io_error(io::ErrorKind::NotFound));
    assert_eq!(classify(&missing), (false, None));
    assert_eq!(classify(&Wrapped::<io::Error>::Fatal), (false, None));
    let throttled = Wrapped::Inner(Throttle {
        wait: HINT,
        transient: true,
    });
    assert_eq!(classify(&throttled), (true, Some(HINT)));
    assert_eq!(classify(&Wrapped::<Throttle>::Fatal), (false, None));
}

/// The user's own bounds and where clause are kept beside the derive's.
#[derive(Debug, Retryable)]
enum Bounded<'a, E: std::fmt::Debug, const N: usize>
where
    E: Send,
{
    #[retryable(delegate)]
    Inner(Box<E>),
    #[retryable(transient)]
    Borrowed(&'a [u8; N]),
}

#[test]
fn user_bounds_lifetimes_and_const_parameters_are_kept() {
    let inner: Bounded<'_, io::Error, 2> =
        Bounded::Inner(Box::new(io_error(io::ErrorKind::TimedOut)));
    assert!(inner.is_transient());
    let borrowed: Bounded<'_, io::Error, 2> = Bounded::Borrowed(&[1, 2]);
    assert!(borrowed.is_transient());
    assert!(matches!(borrowed, Bounded::Borrowed([1, 2])));
}

// ---- beside thiserror, and the runtime's path ----

#[test]
fn thiserror_still_displays_and_chains() {
    assert_eq!(StoreError::http(503).to_string(), "HTTP 503");
    assert_eq!(StoreError::Timeout.to_string(), "timed out");
    assert_eq!(
        StoreError::Invalid("no name".into()).to_string(),
        "invalid request: no name"
    );
    let io = StoreError::from(io::Error::new(io::ErrorKind::ConnectionReset, "peer left"));
    // `#[error(transparent)]`: the io error's own text, and its source.
    assert_eq!(io.to_string(), "peer left");
    assert!(io.is_transient());
    assert!(StoreError::Timeout.source().is_none());
}

/// A stand-in for the runtime reached through another path: the impl is for this trait only if
/// `crate = …` is honoured (otherwise the calls below do not compile).
mod elsewhere {
    pub trait Retryable {
        fn is_transient(&self) -> bool;
        fn retry_after(&self) -> Option<std::time::Duration> {
            None
        }
    }
}

#[derive(Debug, Retryable)]
#[retryable(crate = elsewhere)]
enum Relocated {
    #[retryable(transient)]
    Busy,
    Gone,
}

#[test]
fn crate_names_the_runtime() {
    assert!(elsewhere::Retryable::is_transient(&Relocated::Busy));
    assert!(!elsewhere::Retryable::is_transient(&Relocated::Gone));
    assert_eq!(elsewhere::Retryable::retry_after(&Relocated::Busy), None);
}

// ---- with `#[vta_retry]`, on tokio's paused clock ----

/// Fails once with `error()`, then succeeds with the number of calls made.
#[vta_retry(backoff = "1ms")]
async fn fetch(calls: &AtomicU32, error: fn() -> StoreError) -> Result<u32, StoreError> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call == 1 { Err(error()) } else { Ok(call) }
}

/// Runs `fetch`, returning its outcome, the number of calls, and the time it took.
async fn run(error: fn() -> StoreError) -> (Result<u32, StoreError>, u32, Duration) {
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let outcome = fetch(&calls, error).await;
    (outcome, calls.load(Ordering::SeqCst), start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_transient_variant_is_retried_after_the_backoff() {
    let (outcome, calls, elapsed) = run(|| StoreError::Timeout).await;
    assert_eq!(outcome.ok(), Some(2));
    assert_eq!(calls, 2);
    assert_eq!(elapsed, Duration::from_millis(1));
}

#[tokio::test(start_paused = true)]
async fn a_permanent_variant_is_returned_at_once() {
    let (outcome, calls, elapsed) = run(|| StoreError::Invalid("no name".into())).await;
    assert!(
        matches!(outcome, Err(StoreError::Invalid(_))),
        "{outcome:?}"
    );
    assert_eq!(calls, 1);
    assert_eq!(elapsed, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_hinted_variant_waits_exactly_its_hint() {
    let (outcome, calls, elapsed) = run(|| StoreError::RateLimited(HINT)).await;
    assert_eq!(outcome.ok(), Some(2));
    assert_eq!(calls, 2);
    assert_eq!(elapsed, HINT);
}

#[tokio::test(start_paused = true)]
async fn transient_if_and_delegate_drive_the_loop() {
    let (outcome, calls, _) = run(|| StoreError::http(503)).await;
    assert_eq!((outcome.ok(), calls), (Some(2), 2));
    let (outcome, calls, _) = run(|| StoreError::http(404)).await;
    assert!(matches!(outcome, Err(StoreError::Http { status: 404, .. })));
    assert_eq!(calls, 1);
    let (outcome, calls, elapsed) = run(|| StoreError::Http {
        status: 503,
        retry_after: Some(HINT),
    })
    .await;
    assert_eq!((outcome.ok(), calls, elapsed), (Some(2), 2, HINT));
    let (outcome, calls, _) = run(|| io_error(io::ErrorKind::ConnectionReset).into()).await;
    assert_eq!((outcome.ok(), calls), (Some(2), 2));
    let (outcome, calls, _) = run(|| io_error(io::ErrorKind::NotFound).into()).await;
    assert!(matches!(outcome, Err(StoreError::Io(_))));
    assert_eq!(calls, 1);
}
