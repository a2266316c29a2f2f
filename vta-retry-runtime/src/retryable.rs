//! The classifier: which errors are worth another attempt.

use std::io;
use std::sync::Arc;
use std::time::Duration;

/// An error that says whether another attempt could succeed.
///
/// `#[vta_retry]` retries an error only when [`is_transient`](Self::is_transient) is true: a fault
/// of the moment (a dropped connection, a timeout, a 503) rather than of the request (a validation
/// error, a conflict, a missing resource), which a re-send cannot change.
///
/// ```
/// use vta_retry_runtime::Retryable;
///
/// enum StoreError { Timeout, Full, Corrupt }
///
/// impl Retryable for StoreError {
///     fn is_transient(&self) -> bool {
///         matches!(self, StoreError::Timeout | StoreError::Full)
///     }
/// }
/// ```
///
/// Or derive it: only what is marked is retried.
///
/// ```
/// use std::time::Duration;
/// use vta_retry_runtime::Retryable;
///
/// #[derive(Debug, thiserror::Error, Retryable)]
/// enum StoreError {
///     #[error("the store is busy")]
///     #[retryable(transient)]
///     Busy,
///     #[error("rate limited, retry in {0:?}")]
///     #[retryable(transient)]
///     Throttled(#[retryable(retry_after)] Duration),
///     #[error("HTTP {0}")]
///     #[retryable(transient_if = StoreError::is_server_fault)]
///     Http(u16),
///     #[error(transparent)]
///     #[retryable(delegate)]
///     Io(#[from] std::io::Error),
///     #[error("no such record: {0}")]
///     NotFound(String),
/// }
///
/// impl StoreError {
///     fn is_server_fault(&self) -> bool {
///         matches!(self, StoreError::Http(status) if *status >= 500)
///     }
/// }
///
/// assert!(StoreError::Busy.is_transient());
/// assert_eq!(StoreError::Throttled(Duration::from_secs(2)).retry_after(), Some(Duration::from_secs(2)));
/// assert!(StoreError::Http(503).is_transient() && !StoreError::Http(404).is_transient());
/// assert!(StoreError::Io(std::io::ErrorKind::ConnectionReset.into()).is_transient());
/// assert!(!StoreError::NotFound("k".into()).is_transient());
/// ```
///
/// An error type you do not own can be classified per function with `retry_if = path` instead.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say which of its errors are transient",
    label = "cannot tell whether to retry this error",
    note = "if `{Self}` is your type, add `#[derive(vta_retry_runtime::Retryable)]` to it (or implement `Retryable` by hand); if it is not, classify its errors per call: `retry_if = path::to::fn` on `#[vta_retry]`, `.retry_if(..)` in the function form"
)]
pub trait Retryable {
    /// Whether another attempt could succeed where this one failed.
    fn is_transient(&self) -> bool;

    /// How long the server asked the client to wait before trying again, when it said
    /// (`Retry-After`). Defaults to `None`.
    ///
    /// The policy never retries sooner: the wait is the longer of its backoff and this hint. A
    /// hint longer than the policy's `max_hint` gives up at once, since a retry sooner would only
    /// be refused again, unless the error is [`in_progress`](Self::in_progress).
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// Whether the server said it is still working on this very request, so that asking again
    /// later gets its answer: the VTA's `Unavailable`, returned while an earlier attempt under the
    /// same idempotency key is still running. Defaults to `false`.
    ///
    /// Such a hint is a time to come back, not a refusal: when it is longer than the policy's
    /// `max_hint`, the call waits `max_hint` and asks again instead of giving up.
    fn in_progress(&self) -> bool {
        false
    }

    /// Whether the server refused this request because its idempotency key was already used for
    /// a different request: the VTA's `taskFailed` "idempotency key reused for a different
    /// request". Defaults to `false`.
    ///
    /// A retried call holds one key across its attempts, so a body that makes two keyed creates
    /// sends the second under the first one's key, and is refused. Never retried (a re-send is
    /// refused again); the give-up event says what to do: one retried function per create.
    fn idempotency_key_reused(&self) -> bool {
        false
    }
}

impl<T: Retryable + ?Sized> Retryable for &T {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
    fn in_progress(&self) -> bool {
        (**self).in_progress()
    }
    fn idempotency_key_reused(&self) -> bool {
        (**self).idempotency_key_reused()
    }
}

impl<T: Retryable + ?Sized> Retryable for Box<T> {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
    fn in_progress(&self) -> bool {
        (**self).in_progress()
    }
    fn idempotency_key_reused(&self) -> bool {
        (**self).idempotency_key_reused()
    }
}

impl<T: Retryable + ?Sized> Retryable for Arc<T> {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
    fn in_progress(&self) -> bool {
        (**self).in_progress()
    }
    fn idempotency_key_reused(&self) -> bool {
        (**self).idempotency_key_reused()
    }
}

/// By [`io::ErrorKind`]: transient when the connection or the network failed under the request
/// (`ConnectionRefused`, `ConnectionReset`, `ConnectionAborted`, `NotConnected`, `BrokenPipe`,
/// `UnexpectedEof`, `TimedOut`, `Interrupted`, `WouldBlock`, `HostUnreachable`,
/// `NetworkUnreachable`, `NetworkDown`, `ResourceBusy`). Every other kind — `NotFound`,
/// `PermissionDenied`, `InvalidInput`, `InvalidData`, `AddrInUse`, `Other`, … — is permanent.
impl Retryable for io::Error {
    fn is_transient(&self) -> bool {
        use io::ErrorKind::*;
        matches!(
            self.kind(),
            ConnectionRefused
                | ConnectionReset
                | ConnectionAborted
                | NotConnected
                | BrokenPipe
                | UnexpectedEof
                | TimedOut
                | Interrupted
                | WouldBlock
                | HostUnreachable
                | NetworkUnreachable
                | NetworkDown
                | ResourceBusy
        )
    }
}

/// A `tokio::time::timeout` that ran out is always transient.
impl Retryable for tokio::time::error::Elapsed {
    fn is_transient(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified_by_kind() {
        let transient = [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::TimedOut,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::UnexpectedEof,
        ];
        let permanent = [
            io::ErrorKind::NotFound,
            io::ErrorKind::PermissionDenied,
            io::ErrorKind::InvalidData,
            io::ErrorKind::AddrInUse,
            io::ErrorKind::Other,
        ];
        for kind in transient {
            assert!(io::Error::from(kind).is_transient(), "{kind:?}");
        }
        for kind in permanent {
            assert!(!io::Error::from(kind).is_transient(), "{kind:?}");
        }
    }

    #[test]
    fn references_and_boxes_classify_like_their_target() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(Retryable::is_transient(&&reset));
        let boxed: Box<io::Error> = Box::new(io::Error::from(io::ErrorKind::NotFound));
        assert!(!boxed.is_transient());
        assert!(Arc::new(reset).is_transient());
    }
}
