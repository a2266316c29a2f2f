//! The function form: `policy.retry(|| client.call()).await`, for call sites that would rather not
//! declare a function per call. It runs on the attribute's own decision path: the same
//! [`Call`], attempt bounds and [`after_attempt`] calls, so the two never disagree.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::__private::{
    AttemptBounds, ByDisplay, Call, Limited, after_attempt, after_attempt_if, must_wait, no_hook,
    sleep,
};
use crate::{Policy, RetryEvent, Retryable, TimedOut};

impl Policy {
    /// Calls `op` until its future succeeds, fails with a permanent error, or the policy runs
    /// out, classifying errors by their [`Retryable`] impl: the function form of `#[vta_retry]`.
    ///
    /// `op` is any `FnMut() -> impl Future<Output = Result<T, E>>`: a closure returning an
    /// `async` block, or one calling an `async fn`. Before awaiting, [`Retry::label`] names the
    /// call in events and spans, [`Retry::retry_if`] classifies errors instead, and
    /// [`Retry::on_retry`] sees each retry.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use vta_retry_runtime::Policy;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let calls = AtomicU32::new(0);
    /// let fetch = || async {
    ///     match calls.fetch_add(1, Ordering::SeqCst) {
    ///         0 => Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
    ///         n => Ok(n),
    ///     }
    /// };
    /// let value = Policy::DEFAULT.retry(fetch).label("fetch").await.unwrap();
    /// assert_eq!(value, 1);
    /// # }
    /// ```
    ///
    /// The error type must be able to say that an attempt timed out (`From<TimedOut>`), since the
    /// policy may carry a timeout; `io::Error` and, with the `vta-sdk` feature, `VtaError` can.
    pub fn retry<F, Fut, T, E>(&self, op: F) -> Retry<F, Fut, E, ByType, NoHook>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Retry {
            policy: *self,
            label: "retry",
            op,
            classify: ByType,
            on_retry: NoHook,
            call: Call::start(*self, false),
            state: State::Ready,
        }
    }
}

/// The original helper's shape, `vta_retry("label", || …)`: [`Policy::DEFAULT`] (3 attempts,
/// 500 ms then 1 s), labelled. Imported together with the attribute of the same name.
///
/// ```
/// use vta_retry_runtime::vta_retry;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> std::io::Result<()> {
/// let key = vta_retry("create persona signing key", || async { Ok::<_, std::io::Error>(7) }).await?;
/// assert_eq!(key, 7);
/// # Ok(())
/// # }
/// ```
pub fn vta_retry<F, Fut, T, E>(label: &'static str, op: F) -> Retry<F, Fut, E, ByType, NoHook>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    Policy::DEFAULT.retry(op).label(label)
}

/// Errors classified by their own [`Retryable`] impl, server hint included.
#[derive(Debug, Clone, Copy)]
pub struct ByType;

/// Errors classified by a `retry_if` function; the server's hint is not read.
#[derive(Debug, Clone, Copy)]
pub struct ByFn<P>(P);

/// No `on_retry` hook.
#[derive(Debug, Clone, Copy)]
pub struct NoHook;

/// How the function form classifies an error: [`ByType`] or [`ByFn`].
pub trait Classify<E> {
    /// After an attempt: `None` to return its outcome, `Some(wait)` to sleep and try again.
    #[doc(hidden)]
    fn after_attempt<T, H>(
        &self,
        policy: Policy,
        call: &mut Call,
        label: &'static str,
        outcome: &Result<T, E>,
        on_retry: &H,
    ) -> Option<Duration>
    where
        H: Hook<E>;
}

impl<E: Retryable + fmt::Display> Classify<E> for ByType {
    #[inline]
    fn after_attempt<T, H: Hook<E>>(
        &self,
        policy: Policy,
        call: &mut Call,
        label: &'static str,
        outcome: &Result<T, E>,
        on_retry: &H,
    ) -> Option<Duration> {
        after_attempt(
            policy,
            call,
            label,
            outcome,
            |error, event| on_retry.on_retry(error, event),
            ByDisplay,
        )
    }
}

impl<E: fmt::Display, P: Fn(&E) -> bool> Classify<E> for ByFn<P> {
    #[inline]
    fn after_attempt<T, H: Hook<E>>(
        &self,
        policy: Policy,
        call: &mut Call,
        label: &'static str,
        outcome: &Result<T, E>,
        on_retry: &H,
    ) -> Option<Duration> {
        after_attempt_if(
            policy,
            call,
            label,
            outcome,
            &self.0,
            |error, event| on_retry.on_retry(error, event),
            ByDisplay,
        )
    }
}

/// An `on_retry` hook of the function form: [`NoHook`], or any `Fn(&E, &RetryEvent)`.
pub trait Hook<E> {
    /// Called before each wait.
    fn on_retry(&self, error: &E, event: &RetryEvent);
}

impl<E> Hook<E> for NoHook {
    #[inline]
    fn on_retry(&self, error: &E, event: &RetryEvent) {
        no_hook(error, event);
    }
}

impl<E, K: Fn(&E, &RetryEvent)> Hook<E> for K {
    #[inline]
    fn on_retry(&self, error: &E, event: &RetryEvent) {
        self(error, event);
    }
}

pin_project! {
    /// The function form's future: [`Policy::retry`] with its options. Await it to run the call.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Retry<F, Fut, E, C, H> {
        policy: Policy,
        label: &'static str,
        op: F,
        classify: C,
        on_retry: H,
        call: Call,
        #[pin]
        state: State<Fut, E>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<Fut, E> {
        /// About to start the next attempt.
        Ready,
        /// An attempt running.
        Attempting {
            #[pin]
            future: Fut,
            #[pin]
            bounds: AttemptBounds<Limited<E>>,
        },
        /// Waiting before the next attempt.
        Waiting {
            #[pin]
            sleep: Sleep,
        },
        /// The outcome was returned.
        Done,
    }
}

impl<F, Fut, T, E, C, H> Retry<F, Fut, E, C, H>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Names the call in `on_retry` events and `tracing` output, as the annotated function's name
    /// does for the attribute.
    pub fn label(self, label: &'static str) -> Self {
        Self { label, ..self }
    }

    /// Classifies errors by `retry_if` instead of their [`Retryable`] impl: `true` for an error
    /// another attempt could cure. The server's hint is not read.
    pub fn retry_if<P>(self, retry_if: P) -> Retry<F, Fut, E, ByFn<P>, H>
    where
        P: Fn(&E) -> bool,
    {
        Retry {
            policy: self.policy,
            label: self.label,
            op: self.op,
            classify: ByFn(retry_if),
            on_retry: self.on_retry,
            call: self.call,
            state: State::Ready,
        }
    }

    /// Calls `on_retry` before each wait, never on success or on giving up.
    pub fn on_retry<K>(self, on_retry: K) -> Retry<F, Fut, E, C, K>
    where
        K: Fn(&E, &RetryEvent),
    {
        Retry {
            policy: self.policy,
            label: self.label,
            op: self.op,
            classify: self.classify,
            on_retry,
            call: Call::start(self.policy, true),
            state: State::Ready,
        }
    }
}

impl<F, Fut, T, E, C, H> Future for Retry<F, Fut, E, C, H>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: From<TimedOut>,
    C: Classify<E>,
    H: Hook<E>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProjection::Ready => {
                    let limit = Limited::new(this.call, *this.policy, Some(E::from));
                    let bounds = AttemptBounds::new(this.call, this.label, *this.policy, limit);
                    let future = (this.op)();
                    this.state.set(State::Attempting { future, bounds });
                }
                StateProjection::Attempting { future, bounds } => {
                    let outcome = ready!(bounds.poll_attempt(this.call, future, cx));
                    let next = this.classify.after_attempt(
                        *this.policy,
                        this.call,
                        this.label,
                        &outcome,
                        this.on_retry,
                    );
                    match next {
                        None => {
                            this.state.set(State::Done);
                            return Poll::Ready(outcome);
                        }
                        Some(wait) if must_wait(wait) => {
                            this.state.set(State::Waiting { sleep: sleep(wait) });
                        }
                        Some(_) => this.state.set(State::Ready),
                    }
                }
                StateProjection::Waiting { sleep } => {
                    ready!(sleep.poll(cx));
                    this.state.set(State::Ready);
                }
                StateProjection::Done => panic!("`Retry` polled after it returned its outcome"),
            }
        }
    }
}
