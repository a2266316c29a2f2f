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

/// As [`next_wait`], classified by the user's `retry_if` closure. A closure passed straight to
/// this `FnOnce(&E) -> bool` bound has its parameter's type inferred.
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

/// As [`next_wait`], classified by the function `retry_if` names. Through [`RetryIf`], so that a
/// function of the wrong signature is reported in `retry_if`'s words.
#[inline]
pub fn next_wait_by<R, F>(
    policy: Policy,
    attempt: u32,
    outcome: &R,
    retry_if: F,
) -> Option<Duration>
where
    R: RetryOutcome,
    F: RetryIf<R::Error>,
{
    let error = outcome.failure()?;
    policy.next_wait(attempt, retry_if.classify(error))
}

/// A `retry_if` classifier: any `fn(&E) -> bool`.
#[diagnostic::on_unimplemented(
    message = "`retry_if` must be a function that takes `&{E}` and returns `bool`",
    label = "not a `fn(&{E}) -> bool`",
    note = "`#[vta_retry]` calls `retry_if` with a reference to each error, `{E}` here, and retries when it returns `true`"
)]
pub trait RetryIf<E> {
    /// Whether another attempt could succeed.
    fn classify(self, error: &E) -> bool;
}

impl<E, F: FnOnce(&E) -> bool> RetryIf<E> for F {
    #[inline]
    fn classify(self, error: &E) -> bool {
        self(error)
    }
}

/// The integer types a `const` named by `attempts` may have.
#[diagnostic::on_unimplemented(
    message = "`attempts` must name a `const` of an integer type, not `{Self}`",
    label = "not an integer",
    note = "for example `const MAX_ATTEMPTS: u32 = 3;`"
)]
pub trait AttemptsInteger {}

macro_rules! attempts_integers {
    ($($t:ty)*) => { $(impl AttemptsInteger for $t {})* };
}
attempts_integers!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

/// Checks at compile time that the `const` named by `attempts` is an integer.
#[inline]
pub const fn attempts_must_be_an_integer<T: AttemptsInteger>(_: &T) {}

/// The `const` named by `attempts`, checked when the user's crate compiles: at least 1, and
/// within `u32`.
#[inline]
pub const fn attempts_from_const(attempts: i128) -> u32 {
    if attempts < 1 {
        panic!("`attempts` must be at least 1: it counts every call, the first included");
    }
    if attempts > u32::MAX as i128 {
        panic!("`attempts` is too large: at most 4294967295");
    }
    attempts as u32
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
