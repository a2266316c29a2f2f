//! The function form: `policy.retry(|| client.call()).await`, for call sites that would rather not
//! declare a function per call. It runs on the attribute's own decision path: the same
//! [`Call`], attempt bounds and [`after_attempt`] calls, so the two never disagree.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;

mod keyed;

use self::keyed::{KeyedAttempts, start_keyed};
use crate::__private::PolicyMayCut;
use crate::engine::{
    AttemptBounds, ByDisplay, Call, Function, HintByType, Limited, NoHint, OnDemand, Reading,
    ToError, after_attempt, after_attempt_if, must_wait, no_hook, poll_breathe, sleep,
};
use crate::{Policy, RetryEvent, Retryable};

impl Policy {
    /// Calls `op` until its future succeeds, fails with a permanent error, or the policy runs
    /// out, classifying errors by their [`Retryable`] impl: the function form of `#[vta_retry]`.
    ///
    /// `op` is any `FnMut() -> impl Future<Output = Result<T, E>>`: a closure returning an
    /// `async` block, or one calling an `async fn`. It is called inside each attempt, so what it
    /// builds sees that attempt's [`context()`](crate::context). Before awaiting,
    /// [`Retry::label`] names the call in events and spans, [`Retry::retry_if`] classifies errors
    /// instead, and [`Retry::on_retry`] sees each retry. Over vta-sdk's `VtaError`, every attempt
    /// dispatches under one VTA idempotency key (`Retry::vta_key`).
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
    /// policy may carry a timeout; `io::Error`, `anyhow::Error` and, with the `vta-sdk` feature,
    /// `VtaError` can. [`vta_retry()`](fn@vta_retry), whose policy has none, does not ask it.
    pub fn retry<F, Fut, T, E>(
        &self,
        op: F,
    ) -> Retry<'static, F, Fut, T, E, ByType, NoHook, impl Future<Output = ()> + use<F, Fut, T, E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: PolicyMayCut,
    {
        new_retry(*self, op, Some(E::from_timed_out))
    }
}

/// The original helper's shape, `vta_retry("label", || …)`: [`Policy::DEFAULT`] (3 attempts,
/// 500 ms then 1 s), labelled. Imported together with the attribute of the same name. The label
/// is any `&str` or `String`.
///
/// ```
/// use vta_retry_runtime::vta_retry;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> std::io::Result<()> {
/// let persona = "alice".to_owned();
/// let op = format!("create {persona}'s signing key");
/// let key = vta_retry(&op, || async { Ok::<_, std::io::Error>(7) }).await?;
/// assert_eq!(key, 7);
/// # Ok(())
/// # }
/// ```
pub fn vta_retry<'l, L, F, Fut, T, E>(
    label: L,
    op: F,
) -> Retry<'l, F, Fut, T, E, ByType, NoHook, impl Future<Output = ()> + use<L, F, Fut, T, E>>
where
    L: Into<Cow<'l, str>>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    // The default policy sets no timeout, so no attempt is ever cut: no conversion is needed.
    new_retry(Policy::DEFAULT, op, None).label(label)
}

/// Errors classified by their own [`Retryable`] impl, server hint included.
#[derive(Debug, Clone, Copy)]
pub struct ByType;

/// Errors classified by a `retry_if` function; the server's hint is still read where the error
/// type has one.
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
        policy: &Policy,
        call: &mut Call<OnDemand>,
        label: &str,
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
        policy: &Policy,
        call: &mut Call<OnDemand>,
        label: &str,
        outcome: &Result<T, E>,
        on_retry: &H,
    ) -> Option<Duration> {
        after_attempt(
            policy,
            call,
            Function::labelled(label),
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
        policy: &Policy,
        call: &mut Call<OnDemand>,
        label: &str,
        outcome: &Result<T, E>,
        on_retry: &H,
    ) -> Option<Duration> {
        after_attempt_if(
            policy,
            call,
            Function::labelled(label),
            outcome,
            &self.0,
            |error, event| on_retry.on_retry(error, event),
            Reading::new(NoHint, ByDisplay),
        )
    }
}

/// `retry_if` over an error type with its own [`Retryable`]: the function decides whether to
/// retry, the type's hint still sets the wait.
#[derive(Debug, Clone, Copy)]
pub struct ByFnWithHint<P>(P);

impl<E: Retryable + fmt::Display, P: Fn(&E) -> bool> Classify<E> for ByFnWithHint<P> {
    #[inline]
    fn after_attempt<T, H: Hook<E>>(
        &self,
        policy: &Policy,
        call: &mut Call<OnDemand>,
        label: &str,
        outcome: &Result<T, E>,
        on_retry: &H,
    ) -> Option<Duration> {
        after_attempt_if(
            policy,
            call,
            Function::labelled(label),
            outcome,
            &self.0,
            |error, event| on_retry.on_retry(error, event),
            Reading::new(HintByType, ByDisplay),
        )
    }
}

/// An `on_retry` hook of the function form: [`NoHook`], or any `Fn(&E, &RetryEvent)`.
pub trait Hook<E> {
    /// Called before each wait.
    fn on_retry(&self, error: &E, event: &RetryEvent<'_>);
}

impl<E> Hook<E> for NoHook {
    #[inline]
    fn on_retry(&self, error: &E, event: &RetryEvent<'_>) {
        no_hook(error, event);
    }
}

impl<E, K: Fn(&E, &RetryEvent<'_>)> Hook<E> for K {
    #[inline]
    fn on_retry(&self, error: &E, event: &RetryEvent<'_>) {
        self(error, event);
    }
}

pin_project! {
    /// The function form's future: [`Policy::retry`] with its options. Await it to run the call.
    ///
    /// `K` is the future that holds one VTA idempotency key across the attempts, when the call
    /// holds one; it is built only then.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Retry<'l, F, Fut, T, E, C, H, K> {
        policy: Policy,
        label: Cow<'l, str>,
        // Taken by the future that holds the VTA key, when the call holds one.
        op: Option<F>,
        classify: C,
        on_retry: H,
        to_error: Option<ToError<E>>,
        vta_key: Option<bool>,
        call: Call<OnDemand>,
        keyed: KeyedAttempts<F, T, E, K>,
        #[pin]
        holder: Option<K>,
        #[pin]
        state: State<Fut, E>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<Fut, E> {
        /// The call has not started.
        New,
        /// About to start the next attempt.
        Ready,
        /// An attempt running; its future is made inside the attempt, where its context is
        /// published, and runs inside the key holder's future when the call holds a VTA key.
        Attempting {
            #[pin]
            future: Option<Fut>,
            #[pin]
            bounds: AttemptBounds<Limited<E>>,
        },
        /// Waiting before the next attempt.
        Waiting {
            #[pin]
            sleep: Sleep,
        },
        /// Retrying with no wait: spending tokio's cooperative budget, and yielding once it is
        /// spent.
        Breathing,
        /// The outcome was returned.
        Done,
    }
}

/// A call of `op` under `policy`, classified by the error type, labelled `"retry"`.
fn new_retry<F, Fut, T, E>(
    policy: Policy,
    op: F,
    to_error: Option<ToError<E>>,
) -> Retry<'static, F, Fut, T, E, ByType, NoHook, impl Future<Output = ()> + use<F, Fut, T, E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    Retry {
        policy,
        label: Cow::Borrowed("retry"),
        op: Some(op),
        classify: ByType,
        on_retry: NoHook,
        to_error,
        vta_key: None,
        call: Call::unstarted(OnDemand::new(&policy, false)),
        keyed: KeyedAttempts::new(start_keyed::<F, T, E>),
        holder: None,
        state: State::New,
    }
}

impl<'l, F, Fut, T, E, C, H, K> Retry<'l, F, Fut, T, E, C, H, K>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Names the call in `on_retry` events and `tracing` output, as the annotated function's name
    /// does for the attribute: any `&str` or `String`.
    pub fn label<'m>(self, label: impl Into<Cow<'m, str>>) -> Retry<'m, F, Fut, T, E, C, H, K> {
        Retry {
            policy: self.policy,
            label: label.into(),
            op: self.op,
            classify: self.classify,
            on_retry: self.on_retry,
            to_error: self.to_error,
            vta_key: self.vta_key,
            call: self.call,
            keyed: self.keyed,
            holder: None,
            state: State::New,
        }
    }

    /// Classifies errors by `retry_if` instead of their [`Retryable`] impl: `true` for an error
    /// another attempt could cure. It decides whether to retry, not when: use
    /// [`Retry::retry_if_keeping_hints`] to keep the type's server hints.
    pub fn retry_if<P>(self, retry_if: P) -> Retry<'l, F, Fut, T, E, ByFn<P>, H, K>
    where
        P: Fn(&E) -> bool,
    {
        self.classified_by(ByFn(retry_if))
    }

    /// As [`Retry::retry_if`], for an error type with its own [`Retryable`]: `retry_if` decides
    /// whether to retry, and the type's server hint still sets the wait, as the attribute's
    /// `retry_if` does.
    pub fn retry_if_keeping_hints<P>(
        self,
        retry_if: P,
    ) -> Retry<'l, F, Fut, T, E, ByFnWithHint<P>, H, K>
    where
        P: Fn(&E) -> bool,
        E: Retryable,
    {
        self.classified_by(ByFnWithHint(retry_if))
    }

    fn classified_by<D>(self, classify: D) -> Retry<'l, F, Fut, T, E, D, H, K> {
        Retry {
            policy: self.policy,
            label: self.label,
            op: self.op,
            classify,
            on_retry: self.on_retry,
            to_error: self.to_error,
            vta_key: self.vta_key,
            call: self.call,
            keyed: self.keyed,
            holder: None,
            state: State::New,
        }
    }

    /// Calls `on_retry` before each wait, never on success or on giving up.
    pub fn on_retry<R>(self, on_retry: R) -> Retry<'l, F, Fut, T, E, C, R, K>
    where
        R: Fn(&E, &RetryEvent<'_>),
    {
        Retry {
            policy: self.policy,
            label: self.label,
            op: self.op,
            classify: self.classify,
            on_retry,
            to_error: self.to_error,
            vta_key: self.vta_key,
            call: Call::unstarted(OnDemand::new(&self.policy, true)),
            keyed: self.keyed,
            holder: None,
            state: State::New,
        }
    }

    /// Whether every attempt dispatches under one vta-sdk idempotency key, so that the VTA
    /// answers a re-send whose first reply was lost from its record of the first execution
    /// instead of creating twice. On by default over `VtaError`; turn it on for an error type that
    /// wraps one (`anyhow::Error`, an enum of yours), or off.
    #[cfg(feature = "vta-sdk")]
    #[cfg_attr(docsrs, doc(cfg(feature = "vta-sdk")))]
    pub fn vta_key(self, on: bool) -> Self {
        Self {
            vta_key: Some(on),
            ..self
        }
    }
}

impl<F, Fut, T, E, C, H, K> Future for Retry<'_, F, Fut, T, E, C, H, K>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: Classify<E>,
    H: Hook<E>,
    K: Future<Output = ()>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProjection::New => {
                    this.call.begin(this.policy);
                    let holds_key = this.vta_key.unwrap_or_else(keyed::is_vta_error::<E>);
                    if holds_key {
                        let role = this.keyed.start(this.op, this.holder.as_mut());
                        this.call.set_key_role(role);
                    }
                    this.state.set(State::Ready);
                }
                StateProjection::Ready => {
                    let limit = Limited::new(this.call, this.policy, *this.to_error);
                    let bounds = AttemptBounds::new(this.call, this.label, this.policy, limit);
                    this.keyed.next_attempt();
                    this.state.set(State::Attempting {
                        future: None,
                        bounds,
                    });
                }
                StateProjection::Attempting { mut future, bounds } => {
                    let op = &mut *this.op;
                    let keyed = &*this.keyed;
                    let holder = this.holder.as_mut();
                    let outcome = ready!(bounds.poll_attempt(this.call, cx, |cx| {
                        match holder.as_pin_mut() {
                            // Made and polled inside the future that holds the key.
                            Some(holder) => keyed.poll_attempt(holder, cx),
                            None => {
                                if future.is_none() {
                                    match op {
                                        Some(op) => future.set(Some(op())),
                                        None => return Poll::Pending,
                                    }
                                }
                                match future.as_pin_mut() {
                                    Some(attempt) => attempt.poll(cx),
                                    None => Poll::Pending,
                                }
                            }
                        }
                    }));
                    // An attempt cut by its timeout is dropped before anything else happens.
                    if let Some(holder) = this.holder.as_mut().as_pin_mut() {
                        this.keyed.cut(holder, cx);
                    }
                    let next = this.classify.after_attempt(
                        this.policy,
                        this.call,
                        this.label,
                        &outcome,
                        this.on_retry,
                    );
                    match next {
                        None => {
                            this.state.set(State::Done);
                            this.holder.set(None);
                            return Poll::Ready(outcome);
                        }
                        Some(wait) if must_wait(wait) => {
                            this.state.set(State::Waiting { sleep: sleep(wait) });
                        }
                        Some(_) => this.state.set(State::Breathing),
                    }
                }
                StateProjection::Waiting { sleep } => {
                    ready!(sleep.poll(cx));
                    this.state.set(State::Ready);
                }
                StateProjection::Breathing => {
                    ready!(poll_breathe(cx));
                    this.state.set(State::Ready);
                }
                StateProjection::Done => panic!("`Retry` polled after it returned its outcome"),
            }
        }
    }
}
