//! One attempt: its future polled with the attempt's context published, cut short when it runs
//! past its limit; or a body that cannot suspend, run in place with its context published around
//! it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::call::{Call, StartTime};
use super::outcome::RetryOutcome;
use super::report::{AttemptSpan, EnteredAttemptSpan};
use crate::TimedOut;
use crate::context::Published;
use crate::policy::Policy;

pin_project! {
    /// One attempt of the attribute's loop: the body's future, cut short when it runs past its
    /// limit.
    pub struct Attempt<'c, C, F, L> {
        call: &'c mut Call<C>,
        #[pin]
        future: F,
        #[pin]
        bounds: AttemptBounds<L>,
    }
}

impl<'c, C: StartTime, F: Future> Attempt<'c, C, F, Unlimited> {
    /// An attempt that runs as long as its body does.
    #[inline]
    pub fn new(call: &'c mut Call<C>, function: &str, policy: &Policy, future: F) -> Self {
        let bounds = AttemptBounds::new(call, function, policy, Unlimited);
        Self {
            call,
            future,
            bounds,
        }
    }
}

impl<'c, C, F> Attempt<'c, C, F, Limited<<F::Output as RetryOutcome>::Error>>
where
    C: StartTime,
    F: Future,
    F::Output: RetryOutcome,
{
    /// An attempt cut at the policy's timeout, or at its deadline when that comes first. A cut
    /// attempt fails with `to_error(TimedOut)`; with no conversion, it is never cut.
    #[inline]
    pub fn limited(
        call: &'c mut Call<C>,
        function: &str,
        policy: &Policy,
        to_error: Option<ToError<<F::Output as RetryOutcome>::Error>>,
        future: F,
    ) -> Self {
        let limit = Limited::new(call, policy, to_error);
        let bounds = AttemptBounds::new(call, function, policy, limit);
        Self {
            call,
            future,
            bounds,
        }
    }
}

impl<C, F, L> Future for Attempt<'_, C, F, L>
where
    C: StartTime,
    F: Future,
    L: Limit<F::Output>,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        this.bounds
            .poll_attempt(this.call, cx, |cx| future.poll(cx))
    }
}

pin_project! {
    /// What bounds an attempt, kept apart from its future and its call so that the function
    /// form's state machine, which owns both, can drive an attempt too.
    pub struct AttemptBounds<L> {
        #[pin]
        limit: L,
        max_attempts: u32,
        span: AttemptSpan,
    }
}

impl<L> AttemptBounds<L> {
    /// The bounds of the call's next attempt under `policy`.
    #[inline]
    pub fn new<C: StartTime>(
        call: &mut Call<C>,
        function: &str,
        policy: &Policy,
        limit: L,
    ) -> Self {
        call.timed_out = false;
        call.attempt_starts();
        Self {
            limit,
            max_attempts: policy.attempts(),
            span: AttemptSpan::for_attempt(function, call.attempt),
        }
    }

    /// Runs one poll of the attempt, `poll_once`, within these bounds: its context published,
    /// its span entered, its limit kept.
    #[inline]
    pub fn poll_attempt<C: StartTime, R>(
        self: Pin<&mut Self>,
        call: &mut Call<C>,
        cx: &mut Context<'_>,
        poll_once: impl FnOnce(&mut Context<'_>) -> Poll<R>,
    ) -> Poll<R>
    where
        L: Limit<R>,
    {
        let this = self.project();
        let _entered = this.span.entered();
        // The context is published for exactly the time the attempt's code runs. (Polling the
        // rare cases out of line saves a few instructions but had the processor stall on the
        // outcome, written in parts and read back whole: 8.4 ns a call became 11.)
        let published = call.publish_poll(*this.max_attempts);
        let polled = poll_once(cx);
        call.withdraw(published);
        if let Poll::Ready(outcome) = polled {
            return Poll::Ready(outcome);
        }
        // Suspended: a call not found nested owns retry, wherever it is polled next.
        call.ownership = call.ownership.decided();
        call.clock.mark();
        match this.limit.poll_expired(cx) {
            Poll::Ready(outcome) => {
                call.timed_out = true;
                Poll::Ready(outcome)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One attempt of a body that cannot suspend (no `.await`, and no macro that could hide one),
/// run in place rather than as a future of its own: from [`InPlace::enter`] to
/// [`InPlace::leave`] the attempt's context is published (and its span entered), exactly as for
/// the time an [`Attempt`] is polled. Never held across an await.
#[must_use = "the attempt's context stays published until `leave`"]
pub struct InPlace {
    // Dropped in this order, on a panic: the context is withdrawn before the span is left, as for
    // an attempt that is polled.
    published: Published,
    _span: EnteredAttemptSpan,
}

impl InPlace {
    /// Enters the call's next attempt under `policy`.
    #[inline]
    pub fn enter<C: StartTime>(call: &mut Call<C>, function: &str, policy: &Policy) -> Self {
        call.attempt_starts();
        let span = AttemptSpan::for_attempt(function, call.attempt);
        let published = call.publish(policy.attempts());
        Self {
            published,
            _span: span.enter_until_dropped(),
        }
    }

    /// Leaves the attempt, which has returned.
    #[inline]
    pub fn leave<C: StartTime>(self, call: &mut Call<C>) {
        let Self { published, _span } = self;
        call.withdraw(published);
    }
}

/// Makes the function's error for an attempt cut short.
pub type ToError<E> = fn(TimedOut) -> E;

/// How an attempt's time is bounded.
pub trait Limit<R> {
    /// `Ready(failure)` once the attempt has run out of time.
    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R>;
}

/// No bound: the attempt runs as long as its body does.
#[derive(Debug)]
pub struct Unlimited;

impl<R> Limit<R> for Unlimited {
    #[inline]
    fn poll_expired(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<R> {
        Poll::Pending
    }
}

pin_project! {
    /// A bound, counted from the attempt's start as `tokio::time::timeout` counts it, and the
    /// timer that keeps it, registered only when the attempt first waits: an attempt that
    /// finishes without waiting reads the clock once and never touches the timer.
    pub struct Limited<E> {
        limit: Option<Bound<E>>,
        #[pin]
        sleep: Option<Sleep>,
    }
}

/// When an attempt is cut, and how its error is made.
struct Bound<E> {
    deadline: Instant,
    limit: Duration,
    to_error: ToError<E>,
}

impl<E> Clone for Bound<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Bound<E> {}

impl<E> Limited<E> {
    /// The bound of the call's attempt starting now under `policy`; none without a conversion.
    #[inline]
    pub fn new<C: StartTime>(
        call: &Call<C>,
        policy: &Policy,
        to_error: Option<ToError<E>>,
    ) -> Self {
        let limit = to_error.and_then(|to_error| {
            // The first attempt starts with the call, whose start was just read.
            let started = (call.attempt == 1).then(|| call.clock.started()).flatten();
            let now = started.unwrap_or_else(Instant::now);
            let limit = policy.attempt_limit(call.clock.elapsed_at(now))?;
            Some(Bound {
                deadline: now + limit,
                limit,
                to_error,
            })
        });
        Self { limit, sleep: None }
    }
}

impl<R: RetryOutcome> Limit<R> for Limited<R::Error> {
    fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let mut this = self.project();
        let Some(Bound {
            deadline,
            limit,
            to_error,
        }) = *this.limit
        else {
            return Poll::Pending;
        };
        if this.sleep.is_none() {
            this.sleep.set(Some(tokio::time::sleep_until(deadline)));
        }
        match this.sleep.as_pin_mut().map(|sleep| sleep.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(R::failed(to_error(TimedOut::new(limit)))),
            _ => Poll::Pending,
        }
    }
}
