//! After an attempt: on success, a budget refilled where there is one; on failure, the decision
//! [`Policy::decide`] makes from what the error says, and its report (an `on_retry` hook, a
//! `tracing` event).

use std::time::Duration;

use super::call::{Call, StartTime};
use super::outcome::RetryOutcome;
use super::report::{Describe, Described, trace_collapsed, trace_give_up, trace_retry};
use crate::RetryEvent;
use crate::context::Ownership;
use crate::policy::{Decision, Failure, Policy};
use crate::retryable::Retryable;

/// After an attempt of a call classified by the error type's [`Retryable`]: `None` to return its
/// outcome, `Some(wait)` to sleep and try again.
#[inline]
pub fn after_attempt<'f, C, R, H, D>(
    policy: &Policy,
    call: &mut Call<C>,
    function: &'f str,
    outcome: &R,
    on_retry: H,
    describe: D,
) -> Option<Duration>
where
    C: StartTime,
    R: RetryOutcome,
    R::Error: Retryable,
    H: FnOnce(&R::Error, &RetryEvent<'f>),
    D: Describe<R::Error>,
{
    let Some(error) = outcome.failure() else {
        call.succeeded(policy, function);
        return None;
    };
    let transient = call.timed_out || error.is_transient();
    after_failure(
        policy,
        call,
        function,
        error,
        transient,
        ServerSays::of(error),
        on_retry,
        describe,
    )
}

/// As [`after_attempt`], classified by the user's `retry_if` (a closure passed straight to this
/// `FnOnce(&E) -> bool` bound has its parameter's type inferred). `retry_if` decides whether to
/// retry, never when: the error's own hint, where its type has one (`hints`), still sets the
/// wait.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn after_attempt_if<'f, C, R, P, K, H, D>(
    policy: &Policy,
    call: &mut Call<C>,
    function: &'f str,
    outcome: &R,
    retry_if: P,
    hints: K,
    on_retry: H,
    describe: D,
) -> Option<Duration>
where
    C: StartTime,
    R: RetryOutcome,
    P: FnOnce(&R::Error) -> bool,
    K: ReadHint<R::Error>,
    H: FnOnce(&R::Error, &RetryEvent<'f>),
    D: Describe<R::Error>,
{
    let Some(error) = outcome.failure() else {
        call.succeeded(policy, function);
        return None;
    };
    let transient = call.timed_out || retry_if(error);
    after_failure(
        policy,
        call,
        function,
        error,
        transient,
        hints.read(error),
        on_retry,
        describe,
    )
}

/// The decision after a failed attempt, and its reports.
#[allow(clippy::too_many_arguments)]
fn after_failure<'f, C, E, H, D>(
    policy: &Policy,
    call: &mut Call<C>,
    function: &'f str,
    error: &E,
    transient: bool,
    hint: ServerSays,
    on_retry: H,
    describe: D,
) -> Option<Duration>
where
    C: StartTime,
    H: FnOnce(&E, &RetryEvent<'f>),
    D: Describe<E>,
{
    // Another retry owner decides on this outcome: this call makes one attempt.
    if call.owned_elsewhere() {
        call.ownership = Ownership::NESTED;
        trace_collapsed(function);
        return None;
    }
    call.clock.mark();
    let failure = Failure {
        attempt: call.attempt,
        transient,
        retry_after: hint.retry_after,
        in_progress: hint.in_progress,
        elapsed: call.clock.elapsed(),
    };
    match policy.decide(&failure) {
        Decision::Retry(wait) => {
            let event = RetryEvent {
                function,
                attempt: call.attempt,
                max_attempts: policy.attempts(),
                wait,
                elapsed: failure.elapsed,
            };
            on_retry(error, &event);
            trace_retry(&event, Described(error, &describe));
            call.attempt += 1;
            Some(wait)
        }
        Decision::GiveUp(reason) => {
            trace_give_up(
                function,
                &failure,
                reason,
                hint.key_reused,
                Described(error, &describe),
            );
            None
        }
    }
}

/// The hook when there is none.
#[inline]
pub fn no_hook<E>(_: &E, _: &RetryEvent<'_>) {}

// ---- The server's hint, read where the error type has one ----

/// What the server said beside the error: when to come back, and whether it refused a key used
/// twice.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerSays {
    retry_after: Option<Duration>,
    in_progress: bool,
    key_reused: bool,
}

impl ServerSays {
    /// What `error` carries.
    #[inline]
    fn of<E: Retryable + ?Sized>(error: &E) -> Self {
        Self {
            retry_after: error.retry_after(),
            in_progress: error.in_progress(),
            key_reused: error.idempotency_key_reused(),
        }
    }
}

/// How a `retry_if` call reads the server's hint: by the error type's [`Retryable`] impl where
/// it has one ([`HintByType`]), else not at all ([`NoHint`]). Chosen at the expansion by autoref
/// specialisation, where the type is known.
pub trait ReadHint<E> {
    /// The hint `error` carries.
    fn read(&self, error: &E) -> ServerSays;
}

/// Reads the hint through [`Retryable`].
#[derive(Debug, Clone, Copy)]
pub struct HintByType;

impl<E: Retryable> ReadHint<E> for HintByType {
    #[inline]
    fn read(&self, error: &E) -> ServerSays {
        ServerSays::of(error)
    }
}

/// For an error type without [`Retryable`]: no hint.
#[derive(Debug, Clone, Copy)]
pub struct NoHint;

impl<E> ReadHint<E> for NoHint {
    #[inline]
    fn read(&self, _: &E) -> ServerSays {
        ServerSays {
            retry_after: None,
            in_progress: false,
            key_reused: false,
        }
    }
}
