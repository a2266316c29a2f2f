//! What `#[vta_retry]` expands to calls. Not a public API: it changes with the macro, which the
//! runtime pins to the exact same release.

use std::time::Duration;

pub use crate::policy::{Backoff, Policy};
use crate::retryable::Retryable;

/// What an attempt returned: the expansion needs only to see whether it failed.
#[diagnostic::on_unimplemented(
    message = "`#[vta_retry]` needs a function that returns `Result<T, E>`, not `{Self}`",
    label = "this must be a `Result`",
    note = "the attribute retries when the function returns `Err`; aliases such as `io::Result<T>` are fine"
)]
pub trait RetryOutcome {
    /// The error type.
    type Error;
    /// The error, when the attempt failed.
    fn failure(&self) -> Option<&Self::Error>;
}

impl<T, E> RetryOutcome for Result<T, E> {
    type Error = E;

    #[inline]
    fn failure(&self) -> Option<&E> {
        self.as_ref().err()
    }
}

/// After an attempt: `None` to return its outcome, `Some(wait)` to sleep and try again. The error
/// type classifies itself.
#[inline]
pub fn next_wait<R>(policy: Policy, attempt: u32, outcome: &R) -> Option<Duration>
where
    R: RetryOutcome,
    R::Error: Retryable,
{
    next_wait_if(policy, attempt, outcome, R::Error::is_transient)
}

/// As [`next_wait`], classified by the user's `retry_if` function.
#[inline]
pub fn next_wait_if<R, F>(
    policy: Policy,
    attempt: u32,
    outcome: &R,
    retry_if: F,
) -> Option<Duration>
where
    R: RetryOutcome,
    F: FnOnce(&R::Error) -> bool,
{
    let error = outcome.failure()?;
    policy.next_wait(attempt, retry_if(error))
}

/// Whether to sleep before the next attempt: a zero wait retries at once rather than waiting a
/// timer tick. Takes the wait by value, so the expansion never borrows its local (a borrowed
/// local would be stored in the future across the sleep).
#[inline]
pub const fn must_wait(wait: Duration) -> bool {
    !wait.is_zero()
}

/// The wait between attempts: tokio's timer itself. An `async fn` around it would make a future
/// that stores the duration twice beside the timer, 40 bytes more in every `#[vta_retry]`
/// future.
#[inline]
#[track_caller]
pub fn sleep(wait: Duration) -> tokio::time::Sleep {
    tokio::time::sleep(wait)
}
