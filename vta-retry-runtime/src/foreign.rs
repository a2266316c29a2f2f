//! Classifiers for errors the user did not write: boxed errors and `anyhow::Error` by walking
//! their chain of causes, and `reqwest::Error` by what failed.

use std::error::Error;
use std::io;
use std::time::Duration;

use crate::{Retryable, TimedOut};

/// 5xx except the statuses that describe the request or the server's configuration rather than a
/// passing fault: 501 Not Implemented, 505 HTTP Version Not Supported, 506 Variant Also
/// Negotiates, 507 Insufficient Storage, 508 Loop Detected, 510 Not Extended, 511 Network
/// Authentication Required.
#[cfg(any(feature = "vta-sdk", feature = "reqwest", test))]
pub(crate) fn is_transient_server_status(status: u16) -> bool {
    (500..=599).contains(&status) && !matches!(status, 501 | 505 | 506 | 507 | 508 | 510 | 511)
}

/// How the first error of a known type in `error`'s chain of causes classifies, and its hint.
///
/// The chain is `error`, then `error.source()`, and so on. The first error whose type the runtime
/// knows decides: [`io::Error`] (by kind), [`TimedOut`], tokio's timeout, `VtaError` (feature
/// `vta-sdk`) and `reqwest::Error` (feature `reqwest`). A chain with no known type is not
/// transient: an error the runtime cannot read is never retried. Your own error types are not
/// seen here (the runtime cannot name them); classify those with `retry_if`, or implement
/// [`Retryable`] for them and wrap them in your own error type.
///
/// ```
/// use std::error::Error;
/// use vta_retry_runtime::{Retryable, transient_in_chain};
///
/// let reset: Box<dyn Error + Send + Sync> = Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
/// assert_eq!(transient_in_chain(reset.as_ref()), Some(true));
/// assert!(reset.is_transient());
///
/// let unknown: Box<dyn Error + Send + Sync> = "no such persona".into();
/// assert_eq!(transient_in_chain(unknown.as_ref()), None);
/// assert!(!unknown.is_transient());
/// ```
pub fn transient_in_chain(error: &(dyn Error + 'static)) -> Option<bool> {
    first_known(error).map(|known| known.transient)
}

/// How the first error of a known type in a chain classifies.
struct Known {
    transient: bool,
    retry_after: Option<Duration>,
    in_progress: bool,
    key_reused: bool,
}

fn first_known(error: &(dyn Error + 'static)) -> Option<Known> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(known) = classify_known(error) {
            return Some(known);
        }
        current = error.source();
    }
    None
}

/// The classification of one error, if its type is one the runtime knows.
fn classify_known(error: &(dyn Error + 'static)) -> Option<Known> {
    fn of<E: Retryable + Error + 'static>(error: &(dyn Error + 'static)) -> Option<Known> {
        error.downcast_ref::<E>().map(|known| Known {
            transient: known.is_transient(),
            retry_after: known.retry_after(),
            in_progress: known.in_progress(),
            key_reused: known.idempotency_key_reused(),
        })
    }
    // The optional types' checks are items of their own, so that a build without their feature
    // has no closure that only returns `None`.
    #[cfg(feature = "vta-sdk")]
    let vta_sdk = of::<vta_sdk::error::VtaError>;
    #[cfg(not(feature = "vta-sdk"))]
    let vta_sdk = |_: &(dyn Error + 'static)| None;
    #[cfg(feature = "reqwest")]
    let reqwest = of::<reqwest::Error>;
    #[cfg(not(feature = "reqwest"))]
    let reqwest = |_: &(dyn Error + 'static)| None;
    let checks: [fn(&(dyn Error + 'static)) -> Option<Known>; 5] = [
        of::<io::Error>,
        of::<TimedOut>,
        of::<tokio::time::error::Elapsed>,
        vta_sdk,
        reqwest,
    ];
    checks.into_iter().find_map(|classify| classify(error))
}

/// Boxed and borrowed errors, `Box<dyn Error + Send + Sync>` first among them, classify by the
/// first error of a known type in their chain of causes: see [`transient_in_chain`].
macro_rules! dyn_error_classifiers {
    ($($error:ty),*) => {$(
        impl Retryable for $error {
            fn is_transient(&self) -> bool {
                first_known(self).is_some_and(|known| known.transient)
            }

            fn retry_after(&self) -> Option<Duration> {
                first_known(self).and_then(|known| known.retry_after)
            }

            fn in_progress(&self) -> bool {
                first_known(self).is_some_and(|known| known.in_progress)
            }

            fn idempotency_key_reused(&self) -> bool {
                first_known(self).is_some_and(|known| known.key_reused)
            }
        }
    )*};
}

dyn_error_classifiers!(
    dyn Error + 'static,
    dyn Error + Send + 'static,
    dyn Error + Send + Sync + 'static
);

/// `anyhow::Error` classifies by the first error of a known type in its chain of causes, its
/// contexts skipped: see [`transient_in_chain`].
#[cfg(feature = "anyhow")]
#[cfg_attr(docsrs, doc(cfg(feature = "anyhow")))]
impl Retryable for anyhow::Error {
    fn is_transient(&self) -> bool {
        first_known(self.as_ref()).is_some_and(|known| known.transient)
    }

    fn retry_after(&self) -> Option<Duration> {
        first_known(self.as_ref()).and_then(|known| known.retry_after)
    }

    fn in_progress(&self) -> bool {
        first_known(self.as_ref()).is_some_and(|known| known.in_progress)
    }

    fn idempotency_key_reused(&self) -> bool {
        first_known(self.as_ref()).is_some_and(|known| known.key_reused)
    }
}

/// `reqwest::Error`, by what failed:
///
/// | error | retried |
/// |---|---|
/// | a status from `error_for_status`: 5xx except 501, 505, 506, 507, 508, 510, 511; and 429 | yes |
/// | any other status (4xx, and the 5xx above) | no |
/// | a timeout, a failed connect, a request that could not be sent | yes |
/// | the response body cut off by the connection, when the cause is a transient `io::Error` | yes |
/// | decoding the body, building the request, following redirects, anything else | no |
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
impl Retryable for reqwest::Error {
    fn is_transient(&self) -> bool {
        if let Some(status) = self.status() {
            let status = status.as_u16();
            return status == 429 || is_transient_server_status(status);
        }
        if self.is_decode() || self.is_builder() || self.is_redirect() {
            return false;
        }
        if self.is_timeout() || self.is_connect() || self.is_request() {
            return true;
        }
        // A body cut off mid-way: transient if the connection failed under it.
        self.is_body()
            && self
                .source()
                .and_then(first_known)
                .is_some_and(|known| known.transient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Context(&'static str, Box<dyn Error + Send + Sync>);

    impl std::fmt::Display for Context {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Context {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(self.1.as_ref())
        }
    }

    #[test]
    fn the_first_known_error_in_the_chain_decides() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        let wrapped: Box<dyn Error + Send + Sync> = Box::new(Context(
            "creating a key",
            Box::new(Context("sending", Box::new(reset))),
        ));
        assert!(wrapped.is_transient());
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let wrapped: Box<dyn Error + Send + Sync> = Box::new(Context("reading", Box::new(denied)));
        assert!(!wrapped.is_transient());
        let timed_out: Box<dyn Error> = Box::new(TimedOut::new(Duration::from_secs(1)));
        assert!(timed_out.is_transient());
    }

    #[test]
    fn a_chain_of_unknown_errors_is_never_retried() {
        let unknown: Box<dyn Error + Send + Sync> = "no such persona".into();
        assert!(!unknown.is_transient());
        let wrapped: Box<dyn Error + Send + Sync> = Box::new(Context("outer", unknown));
        assert!(!wrapped.is_transient());
        assert_eq!(wrapped.retry_after(), None);
    }

    #[test]
    fn server_statuses_follow_the_table() {
        for status in [500, 502, 503, 504, 509, 520, 599] {
            assert!(is_transient_server_status(status), "{status}");
        }
        for status in [501, 505, 506, 507, 508, 510, 511, 499, 600, 404] {
            assert!(!is_transient_server_status(status), "{status}");
        }
    }
}
