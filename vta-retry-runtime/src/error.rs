//! The runtime's own error: an attempt cut short by the policy's timeout.

use std::io;
use std::time::Duration;

/// An attempt that ran longer than the policy's `timeout` and was dropped.
///
/// The retry loop counts it as a transient failure, whatever the error type's classifier says,
/// and, on the last attempt, returns it converted into the function's error type: a function with
/// a `timeout` needs `E: From<TimedOut>`. The runtime provides that conversion for
/// [`std::io::Error`] (kind [`io::ErrorKind::TimedOut`]) and, with the `vta-sdk` feature, for
/// `VtaError` (as `Server { status: 504, .. }`, the answer a proxy gives for an upstream that did
/// not reply in time).
///
/// ```
/// use std::time::Duration;
/// use vta_retry_runtime::TimedOut;
///
/// let timed_out = TimedOut::new(Duration::from_millis(1500));
/// assert_eq!(timed_out.to_string(), "the attempt timed out after 1.5s");
/// assert_eq!(std::io::Error::from(timed_out).kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("the attempt timed out after {limit:?}")]
pub struct TimedOut {
    limit: Duration,
}

impl TimedOut {
    /// An attempt cut after `limit`.
    pub const fn new(limit: Duration) -> Self {
        Self { limit }
    }

    /// How long the attempt was allowed to run.
    pub const fn limit(&self) -> Duration {
        self.limit
    }
}

/// Always transient: the attempt was cut short, not refused.
impl crate::Retryable for TimedOut {
    fn is_transient(&self) -> bool {
        true
    }
}

impl From<TimedOut> for io::Error {
    fn from(timed_out: TimedOut) -> Self {
        io::Error::new(io::ErrorKind::TimedOut, timed_out)
    }
}
