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
/// An error type you do not own can be classified per function with `retry_if = path` instead.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say which of its errors are transient",
    label = "`#[vta_retry]` cannot tell whether to retry this error",
    note = "implement `vta_retry_runtime::Retryable` for `{Self}`, or pass `retry_if = path::to::fn` to `#[vta_retry]`"
)]
pub trait Retryable {
    /// Whether another attempt could succeed where this one failed.
    fn is_transient(&self) -> bool;

    /// How long the server asked the client to wait before trying again, when it said.
    ///
    /// Defaults to `None`. It is information for callers and hooks; the policy's own backoff
    /// decides the wait.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl<T: Retryable + ?Sized> Retryable for &T {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
}

impl<T: Retryable + ?Sized> Retryable for Box<T> {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
}

impl<T: Retryable + ?Sized> Retryable for Arc<T> {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
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
