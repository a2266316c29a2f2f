//! After an attempt: on success, a budget refilled where there is one; on failure, the decision
//! [`Policy::decide`] makes from what the error says, and its report (an `on_retry` hook, a
//! `tracing` event).

use std::time::Duration;

use super::call::{Call, StartTime};
use super::metrics::{self, AttemptOutcome, CallIs, Series, SeriesKeys};
use super::outcome::RetryOutcome;
use super::report::{Describe, Described, trace_collapsed, trace_give_up, trace_retry};
use crate::RetryEvent;
use crate::context::Ownership;
use crate::policy::{Decision, Failure, GiveUp, Policy};
use crate::retryable::Retryable;

/// The function a call is of: its name, as events and spans show it, and the series its metrics
/// go to (feature `metrics`).
#[derive(Debug, Clone, Copy)]
pub struct Function<'f> {
    name: &'f str,
    series: Series<'f>,
}

impl Function<'static> {
    /// An annotated function, `name`, whose metric keys the expansion built at compile time.
    #[inline]
    pub const fn annotated(name: &'static str, keys: &'static SeriesKeys) -> Self {
        Self {
            name,
            series: Series::of(keys),
        }
    }
}

impl<'f> Function<'f> {
    /// The function form, labelled `label`.
    #[inline]
    pub const fn labelled(label: &'f str) -> Self {
        Self {
            name: label,
            series: Series::labelled(label),
        }
    }

    /// The name.
    pub const fn name(&self) -> &'f str {
        self.name
    }

    /// The series its metrics go to.
    pub(super) const fn series(&self) -> Series<'f> {
        self.series
    }
}

/// How a failed attempt's error is read where its type is known: the server's hint, and how the
/// error is written in a log line. Both are answers the expansion's probes found.
#[derive(Debug, Clone, Copy)]
pub struct Reading<K, D> {
    hints: K,
    describe: D,
}

impl<K, D> Reading<K, D> {
    /// The hint read by `hints`, the error written by `describe`.
    #[inline]
    pub const fn new(hints: K, describe: D) -> Self {
        Self { hints, describe }
    }
}

/// After an attempt of a call classified by the error type's [`Retryable`]: `None` to return its
/// outcome, `Some(wait)` to sleep and try again.
#[inline]
pub fn after_attempt<'f, C, R, H, D>(
    policy: &Policy,
    call: &mut Call<C>,
    function: Function<'f>,
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
    let failed = FailedAttempt {
        error,
        transient: call.timed_out || error.is_transient(),
        server: ServerSays::of(error),
    };
    after_failure(policy, call, function, failed, on_retry, &describe)
}

/// As [`after_attempt`], classified by the user's `retry_if` (a closure passed straight to this
/// `FnOnce(&E) -> bool` bound has its parameter's type inferred). `retry_if` decides whether to
/// retry, never when: the error's own hint, where its type has one, still sets the wait.
#[inline]
pub fn after_attempt_if<'f, C, R, P, K, H, D>(
    policy: &Policy,
    call: &mut Call<C>,
    function: Function<'f>,
    outcome: &R,
    retry_if: P,
    on_retry: H,
    reading: Reading<K, D>,
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
    let failed = FailedAttempt {
        error,
        transient: call.timed_out || retry_if(error),
        server: reading.hints.read(error),
    };
    after_failure(policy, call, function, failed, on_retry, &reading.describe)
}

/// A failed attempt, as classified.
struct FailedAttempt<'e, E> {
    error: &'e E,
    transient: bool,
    server: ServerSays,
}

/// The decision after a failed attempt, and its reports.
fn after_failure<'f, C, E, H, D>(
    policy: &Policy,
    call: &mut Call<C>,
    function: Function<'f>,
    failed: FailedAttempt<'_, E>,
    on_retry: H,
    describe: &D,
) -> Option<Duration>
where
    C: StartTime,
    H: FnOnce(&E, &RetryEvent<'f>),
    D: Describe<E>,
{
    let FailedAttempt {
        error,
        transient,
        server,
    } = failed;
    let outcome = match (call.timed_out, transient) {
        (true, _) => AttemptOutcome::TimedOut,
        (false, true) => AttemptOutcome::Transient,
        (false, false) => AttemptOutcome::Permanent,
    };
    let duration = call.attempt_duration();
    // Another retry owner decides on this outcome: this call makes one attempt. Inside another
    // `#[vta_retry]` call's attempt, that call counts it; inside vta-sdk's `idempotent`, which
    // reports nothing, it counts itself as a call of one attempt, so that no failure goes unseen.
    if call.owned_elsewhere() {
        if call.ownership != Ownership::NESTED {
            let reason = if transient {
                GiveUp::AttemptsExhausted
            } else {
                GiveUp::Permanent
            };
            metrics::attempt_ended(
                function.series,
                outcome,
                duration,
                CallIs::Ended(Some(reason)),
            );
        }
        call.ownership = Ownership::NESTED;
        trace_collapsed(function.name);
        return None;
    }
    call.clock.mark();
    let failure = Failure {
        attempt: call.attempt,
        transient,
        retry_after: server.retry_after,
        in_progress: server.in_progress,
        elapsed: call.clock.elapsed(),
    };
    match policy.decide(&failure) {
        Decision::Retry(wait) => {
            let event = RetryEvent {
                function: function.name,
                attempt: call.attempt,
                max_attempts: policy.attempts(),
                wait,
                elapsed: failure.elapsed,
            };
            metrics::attempt_ended(function.series, outcome, duration, CallIs::Continuing);
            on_retry(error, &event);
            trace_retry(&event, Described(error, describe));
            // The next attempt is not the first: a call not found nested owns retry.
            call.ownership = call.ownership.decided();
            call.attempt += 1;
            Some(wait)
        }
        Decision::GiveUp(reason) => {
            metrics::attempt_ended(
                function.series,
                outcome,
                duration,
                CallIs::Ended(Some(reason)),
            );
            trace_give_up(
                function.name,
                &failure,
                reason,
                server.key_reused,
                Described(error, describe),
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
