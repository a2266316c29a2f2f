//! The classification of [`VtaError`], the error of the `vta-sdk` crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vta_sdk::error::VtaError;

use crate::TimedOut;
use crate::foreign::is_transient_server_status;
use crate::retryable::Retryable;

/// Whether a [`VtaError`] is worth another attempt.
///
/// | variant | retried | why |
/// |---|---|---|
/// | `DidcommTransport`, `TspTransport` | yes | the messaging layer reconnects underneath; a re-send on the same client lands |
/// | `Network` (with vta-sdk's `client` feature) | yes | connection refused, reset, or timed out |
/// | `Server` 500, 502, 503, 504 and other 5xx | yes | a fault of the moment on the server side |
/// | `Server` 501, 505, 506, 507, 508, 510, 511 | no | the server cannot or will not ever serve this request as sent |
/// | `Unavailable` | yes | the VTA said "ask again", e.g. an earlier attempt on the same key is still running |
/// | `RateLimited` | yes, after the wait it asks for | refused at the edge, before any handler ran; a wait longer than the policy's `max_hint` (30 s unless raised) gives up at once |
/// | `Validation`, `Conflict`, `NotFound`, `Auth`, `Forbidden`, `Gone` | no | deterministic: a re-send gets the same answer |
/// | `RepliesNotArriving` | no | the session needs a reconnect, not a re-send; a re-send queues more replies |
/// | `Protocol`, `Serialization`, and every other variant | no | a bug or a refusal that a re-send cannot change |
///
/// ```
/// use vta_retry_runtime::vta_retryable;
/// use vta_sdk::error::VtaError;
///
/// assert!(vta_retryable(&VtaError::DidcommTransport("timeout waiting for DIDComm response".into())));
/// assert!(vta_retryable(&VtaError::Server { status: 503, body: String::new() }));
/// assert!(!vta_retryable(&VtaError::Server { status: 501, body: String::new() }));
/// assert!(!vta_retryable(&VtaError::Conflict("key id already exists".into())));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "vta-sdk")))]
pub fn vta_retryable(error: &VtaError) -> bool {
    match error {
        VtaError::DidcommTransport(_)
        | VtaError::TspTransport(_)
        | VtaError::Unavailable { .. }
        | VtaError::RateLimited { .. } => true,
        VtaError::Server { status, .. } => is_transient_server_status(*status),
        VtaError::Validation(_)
        | VtaError::Conflict(_)
        | VtaError::NotFound(_)
        | VtaError::Auth(_)
        | VtaError::Forbidden(_)
        | VtaError::Gone(_)
        | VtaError::RepliesNotArriving { .. }
        | VtaError::Protocol(_)
        | VtaError::Serialization(_) => false,
        // `Network` exists only when something in the build enables vta-sdk's `client` feature,
        // so it cannot be named here; `is_network` is compiled either way and sees it when it is.
        other => other.is_network(),
    }
}

/// See [`vta_retryable`] for the table. The server's hint is the time left until the instant
/// that `Unavailable` or `RateLimited` named, measured on the system clock.
///
/// The two hints mean different things, and the policy reads them as the VTA means them.
/// `RateLimited` is a refusal at the edge: a retry before its instant would be refused again, so
/// one that asks for longer than `max_hint` gives up at once. `Unavailable` is the VTA's answer
/// while an earlier attempt under the same idempotency key is still running: it is
/// [`in_progress`](Retryable::in_progress), so a long hint is waited up to `max_hint` (30 s by
/// default, vta-sdk's own cap) and the call asks again, for the answer it was told to wait for.
impl Retryable for VtaError {
    fn is_transient(&self) -> bool {
        vta_retryable(self)
    }

    fn in_progress(&self) -> bool {
        matches!(self, VtaError::Unavailable { .. })
    }

    /// The VTA's refusal of a key used for two different requests: `Rejected` with code
    /// `taskFailed` whose details name the `idempotencyKey` (vta-service's idempotency layer,
    /// HTTP 422).
    fn idempotency_key_reused(&self) -> bool {
        matches!(self, VtaError::Rejected { code, details: Some(details), .. }
            if code == "taskFailed" && details.get("idempotencyKey").is_some())
    }

    fn retry_after(&self) -> Option<Duration> {
        let instant = match self {
            VtaError::Unavailable { retry_after } | VtaError::RateLimited { retry_after, .. } => {
                retry_after.as_ref()?
            }
            _ => return None,
        };
        let since_epoch = u64::try_from(instant.timestamp())
            .ok()
            .map(|secs| Duration::new(secs, instant.timestamp_subsec_nanos().min(999_999_999)));
        let at = since_epoch.and_then(|d| UNIX_EPOCH.checked_add(d));
        // An instant before the epoch or already past asks for no wait.
        Some(at.map_or(Duration::ZERO, |at| {
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }))
    }
}

/// A timed-out attempt, as a proxy reports an upstream that did not answer in time: `Server` with
/// status 504 (Gateway Timeout), which [`vta_retryable`] retries. The body names the limit.
impl From<TimedOut> for VtaError {
    fn from(timed_out: TimedOut) -> Self {
        VtaError::Server {
            status: 504,
            body: format!("{timed_out} (vta-retry timeout)"),
        }
    }
}
