//! What the engine reports: an error written for a log line, whatever it implements, and with
//! feature `tracing`, a span per retried attempt and an event per retry, per give-up and per
//! collapsed call; without the feature, nothing at all.

use std::fmt;

use crate::RetryEvent;
use crate::policy::{Failure, GiveUp};

/// How an error is written in a log line: by `Display` when it has one, else by `Debug`, else by
/// its type's name. Chosen at the expansion by autoref specialisation, where the type is known,
/// as one of the markers [`ByDisplay`], [`ByDebug`], [`ByTypeName`].
pub trait Describe<E> {
    /// Writes `error`.
    fn describe(&self, error: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// Writes an error by `Display`.
#[derive(Debug, Clone, Copy)]
pub struct ByDisplay;

impl<E: fmt::Display> Describe<E> for ByDisplay {
    fn describe(&self, error: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(error, f)
    }
}

/// Writes an error by `Debug`.
#[derive(Debug, Clone, Copy)]
pub struct ByDebug;

impl<E: fmt::Debug> Describe<E> for ByDebug {
    fn describe(&self, error: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(error, f)
    }
}

/// Writes an error by its type's name.
#[derive(Debug, Clone, Copy)]
pub struct ByTypeName;

impl<E> Describe<E> for ByTypeName {
    fn describe(&self, _: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::any::type_name::<E>())
    }
}

/// An error and how to write it, as `Display`.
pub(super) struct Described<'a, E, D>(pub(super) &'a E, pub(super) &'a D);

impl<E, D: Describe<E>> fmt::Display for Described<'_, E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.1.describe(self.0, f)
    }
}

// ---- `tracing`, when the feature is on; nothing at all when it is off ----

/// The span each attempt after the first runs in.
#[cfg(feature = "tracing")]
pub(super) struct AttemptSpan {
    span: Option<tracing::Span>,
}

#[cfg(feature = "tracing")]
impl AttemptSpan {
    pub(super) fn for_attempt(function: &str, attempt: u32) -> Self {
        Self {
            span: (attempt > 1).then(|| tracing::info_span!("retry", function, attempt)),
        }
    }

    pub(super) fn entered(&self) -> Option<tracing::span::Entered<'_>> {
        self.span.as_ref().map(tracing::Span::enter)
    }

    pub(super) fn enter_until_dropped(self) -> EnteredAttemptSpan {
        EnteredAttemptSpan(self.span.map(tracing::Span::entered))
    }
}

/// An attempt's span, entered until dropped.
#[cfg(feature = "tracing")]
pub(super) struct EnteredAttemptSpan(#[allow(dead_code)] Option<tracing::span::EnteredSpan>);

#[cfg(not(feature = "tracing"))]
pub(super) struct AttemptSpan;

#[cfg(not(feature = "tracing"))]
impl AttemptSpan {
    #[inline]
    pub(super) fn for_attempt(_: &str, _: u32) -> Self {
        Self
    }

    /// Nothing to enter; a value all the same, so that the caller holds it alike.
    #[inline]
    pub(super) fn entered(&self) -> Option<()> {
        None
    }

    #[inline]
    pub(super) fn enter_until_dropped(self) -> EnteredAttemptSpan {
        EnteredAttemptSpan
    }
}

#[cfg(not(feature = "tracing"))]
pub(super) struct EnteredAttemptSpan;

/// A call made inside another's attempt collapses to one attempt; said once per process at
/// `WARN` (it is usually a mistake to fix: two retry owners), and at `DEBUG` every time.
#[cfg(feature = "tracing")]
#[cold]
pub(super) fn trace_collapsed(function: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            function,
            "{function} was called inside an attempt of another retried call: it makes one attempt, \
             and the outer call owns retry (said once)"
        );
    } else {
        tracing::debug!(
            function,
            "{function} collapsed to one attempt inside another retried call"
        );
    }
}

#[cfg(not(feature = "tracing"))]
#[inline]
pub(super) fn trace_collapsed(_: &str) {}

#[cfg(feature = "tracing")]
pub(super) fn trace_retry<E, D: Describe<E>>(event: &RetryEvent<'_>, error: Described<'_, E, D>) {
    tracing::warn!(
        function = event.function(),
        attempt = event.attempt(),
        max_attempts = event.max_attempts(),
        wait_ms = u64::try_from(event.wait().as_millis()).unwrap_or(u64::MAX),
        error = %error,
        "retrying {} after a transient failure",
        event.function(),
    );
}

#[cfg(not(feature = "tracing"))]
#[inline]
pub(super) fn trace_retry<E, D>(_: &RetryEvent<'_>, _: Described<'_, E, D>) {}

#[cfg(feature = "tracing")]
pub(super) fn trace_give_up<E, D: Describe<E>>(
    function: &str,
    failure: &Failure,
    reason: GiveUp,
    key_reused: bool,
    error: Described<'_, E, D>,
) {
    let elapsed_ms = u64::try_from(failure.elapsed.as_millis()).unwrap_or(u64::MAX);
    match reason {
        // Not the caller's mistake of the moment but the function's shape: say how to fix it.
        GiveUp::Permanent if key_reused => tracing::warn!(
            function,
            attempts = failure.attempt,
            elapsed_ms,
            reason = "idempotency key reused",
            error = %error,
            "{function} sent two different requests under one idempotency key, and the server refused the second: \
             every attempt of a retried call dispatches under the call's one key, so make one retried function per create",
        ),
        // A permanent error is the caller's to handle; it was not retried, or not again.
        GiveUp::Permanent => tracing::debug!(
            function,
            attempts = failure.attempt,
            elapsed_ms,
            error = %error,
            "{function} failed with a permanent error",
        ),
        _ => tracing::warn!(
            function,
            attempts = failure.attempt,
            elapsed_ms,
            reason = reason.as_str(),
            error = %error,
            "giving up on {function} after {} attempt{}: {}",
            failure.attempt,
            if failure.attempt == 1 { "" } else { "s" },
            reason.as_str(),
        ),
    }
}

#[cfg(not(feature = "tracing"))]
#[inline]
pub(super) fn trace_give_up<E, D>(
    _: &str,
    _: &Failure,
    _: GiveUp,
    _: bool,
    _: Described<'_, E, D>,
) {
}
