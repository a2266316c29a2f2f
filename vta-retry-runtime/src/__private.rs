//! What `#[vta_retry]` expands to calls, and what the function form runs on. Not a public API: it
//! changes with the macro, which the runtime pins to the exact same release.
//!
//! One call of an annotated function is a [`Call`] (the state that lives across attempts), an
//! [`Attempt`] per attempt (the body's future, bounded by the timeout and the deadline), and
//! [`after_attempt`] after each (which asks [`Policy::decide`] and reports a retry).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::context::{Ownership, Published};
pub use crate::policy::{Backoff, Jitter, Policy};
use crate::policy::{Decision, Failure, GiveUp};
use crate::retryable::Retryable;
use crate::vta_key::{self, KeyRole};
pub use crate::vta_key::{hold as hold_vta_key, vta_key_needs_vta_sdk};
pub use crate::{RetryBudget, RetryEvent, TimedOut};

/// What an attempt returned: the expansion needs only to see whether it failed, and to make a
/// failure of a timed-out attempt.
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
    /// A failed outcome.
    fn failed(error: Self::Error) -> Self;
}

impl<T, E> RetryOutcome for Result<T, E> {
    type Error = E;

    #[inline]
    fn failure(&self) -> Option<&E> {
        self.as_ref().err()
    }

    #[inline]
    fn failed(error: E) -> Self {
        Err(error)
    }
}

/// The state of one call that lives across its attempts: 32 bytes.
#[derive(Debug)]
pub struct Call {
    /// The attempt running or last run, from 1.
    attempt: u32,
    /// Whether anything needs the time since the call started: a deadline, a hook, tracing.
    needs_clock: bool,
    /// Whether the last attempt was cut by the timeout.
    timed_out: bool,
    /// What the call is to the VTA idempotency key in scope.
    vta_key: KeyRole,
    /// Whether this call owns retry (and its serial number), decided when it is first polled.
    ownership: Ownership,
    /// When the call started, for a policy with a deadline or a timeout, which count from there;
    /// otherwise when it first waited on anything or first failed, whichever came first, and only
    /// if a hook or tracing reports the time: so that a call that succeeds at once under such a
    /// policy never reads the clock.
    started: Option<Instant>,
}

impl Call {
    /// A call starting now, about to make its first attempt. `reports_elapsed` is set when a
    /// hook will be told the elapsed time.
    #[inline]
    pub fn start(policy: Policy, reports_elapsed: bool) -> Self {
        let mut call = Self::new(policy, reports_elapsed);
        call.begin(policy);
        call
    }

    /// A call that has not started: the function form's, made when it is built.
    #[inline]
    pub(crate) const fn new(policy: Policy, reports_elapsed: bool) -> Self {
        Self {
            attempt: 1,
            needs_clock: policy.needs_start_time() || reports_elapsed || cfg!(feature = "tracing"),
            timed_out: false,
            vta_key: KeyRole::Unkeyed,
            ownership: Ownership::UNKNOWN,
            started: None,
        }
    }

    /// The call starts: a deadline and a timeout count from now. (The policy is a constant in
    /// the attribute's expansion, so a call without either reads no clock.)
    #[inline]
    pub(crate) fn begin(&mut self, policy: Policy) {
        if policy.needs_start_time() {
            self.started = Some(Instant::now());
        }
    }

    /// A call that holds one VTA idempotency key across its attempts, about to make its first
    /// attempt: made by the first statement of the loop that [`hold_vta_key`] runs.
    #[inline]
    pub fn start_keyed(policy: Policy, reports_elapsed: bool) -> Self {
        Self {
            vta_key: vta_key::take_role(),
            ..Self::start(policy, reports_elapsed)
        }
    }

    /// Makes this call one that holds (or runs under) a VTA key, for the function form.
    pub(crate) fn set_key_role(&mut self, role: KeyRole) {
        self.vta_key = role;
    }

    /// The attempt running or last run, from 1.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    fn mark_started(&mut self) {
        if self.needs_clock && self.started.is_none() {
            self.started = Some(Instant::now());
        }
    }

    fn elapsed(&self) -> Duration {
        self.started
            .map_or(Duration::ZERO, |started| started.elapsed())
    }

    /// Publishes the context of the attempt about to run, deciding at the call's first poll
    /// whether it owns retry.
    #[inline]
    fn publish(&mut self, max_attempts: u32) -> Option<Published> {
        Published::enter(&mut self.ownership, self.attempt, max_attempts)
    }

    /// Withdraws what [`Call::publish`] published, keeping a serial number drawn meanwhile.
    #[inline]
    fn withdraw(&mut self, published: Option<Published>) {
        if let Some(published) = published {
            published.leave(&mut self.ownership);
        }
    }

    /// After a successful attempt: the budget is refilled by the call that owns retry; a call
    /// made inside another's attempt says that it collapsed.
    #[inline]
    fn succeeded(&self, policy: Policy, function: &str) {
        if self.ownership == Ownership::NESTED {
            trace_collapsed(function);
        } else {
            policy.succeeded();
        }
    }

    /// Whether another retry owner decides on this call's failure, so that it makes one attempt:
    /// a `#[vta_retry]` call whose attempt it runs in, or the holder of the VTA key in scope
    /// (vta-sdk's `VtaClient::idempotent`). Asked only after a failure, so that a call that
    /// succeeds pays nothing for it.
    fn owned_elsewhere(&self) -> bool {
        match self.vta_key {
            _ if self.ownership == Ownership::NESTED => true,
            KeyRole::Holder => false,
            KeyRole::UnderAnotherHolder => true,
            KeyRole::Unkeyed => vta_key::key_in_scope(),
        }
    }
}

pin_project! {
    /// One attempt of the attribute's loop: the body's future, cut short when it runs past its
    /// limit.
    pub struct Attempt<'c, F, L> {
        call: &'c mut Call,
        #[pin]
        future: F,
        #[pin]
        bounds: AttemptBounds<L>,
    }
}

impl<'c, F: Future> Attempt<'c, F, Unlimited> {
    /// An attempt that runs as long as its body does.
    #[inline]
    pub fn new(call: &'c mut Call, function: &str, policy: Policy, future: F) -> Self {
        let bounds = AttemptBounds::new(call, function, policy, Unlimited);
        Self {
            call,
            future,
            bounds,
        }
    }
}

impl<'c, F> Attempt<'c, F, Limited<<F::Output as RetryOutcome>::Error>>
where
    F: Future,
    F::Output: RetryOutcome,
{
    /// An attempt cut at the policy's timeout, or at its deadline when that comes first. A cut
    /// attempt fails with `to_error(TimedOut)`; with no conversion, it is never cut.
    #[inline]
    pub fn limited(
        call: &'c mut Call,
        function: &str,
        policy: Policy,
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

impl<F, L> Future for Attempt<'_, F, L>
where
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
    pub fn new(call: &mut Call, function: &str, policy: Policy, limit: L) -> Self {
        call.timed_out = false;
        Self {
            limit,
            max_attempts: policy.attempts(),
            span: AttemptSpan::for_attempt(function, call.attempt),
        }
    }

    /// Runs one poll of the attempt, `poll_once`, within these bounds: its context published,
    /// its span entered, its limit kept.
    #[inline]
    pub fn poll_attempt<R>(
        self: Pin<&mut Self>,
        call: &mut Call,
        cx: &mut Context<'_>,
        poll_once: impl FnOnce(&mut Context<'_>) -> Poll<R>,
    ) -> Poll<R>
    where
        L: Limit<R>,
    {
        let this = self.project();
        let _entered = this.span.entered();
        // The context is published for exactly the time the attempt's code runs; the first poll
        // also decides whether this call owns retry (it does unless polled inside another's
        // attempt).
        let published = call.publish(*this.max_attempts);
        let polled = poll_once(cx);
        call.withdraw(published);
        if let Poll::Ready(outcome) = polled {
            return Poll::Ready(outcome);
        }
        call.mark_started();
        match this.limit.poll_expired(cx) {
            Poll::Ready(outcome) => {
                call.timed_out = true;
                Poll::Ready(outcome)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One attempt of a body that can neither suspend nor leave early (no `.await`, `return`, `?` or
/// macro), run in place rather than as a future of its own: from [`InPlace::enter`] to
/// [`InPlace::leave`] the attempt's context is published (and its span entered), exactly as for
/// the time an [`Attempt`] is polled. Never held across an await.
#[must_use = "the attempt's context stays published until `leave`"]
pub struct InPlace {
    // Dropped in this order, on a panic: the context is withdrawn before the span is left, as for
    // an attempt that is polled.
    published: Option<Published>,
    _span: EnteredAttemptSpan,
}

impl InPlace {
    /// Enters the call's next attempt under `policy`.
    #[inline]
    pub fn enter(call: &mut Call, function: &str, policy: Policy) -> Self {
        let span = AttemptSpan::for_attempt(function, call.attempt);
        let published = call.publish(policy.attempts());
        Self {
            published,
            _span: span.enter_until_dropped(),
        }
    }

    /// Leaves the attempt, which has returned.
    #[inline]
    pub fn leave(self, call: &mut Call) {
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

impl<E> Limited<E> {
    /// The bound of the call's attempt starting now under `policy`; none without a conversion.
    #[inline]
    pub fn new(call: &Call, policy: Policy, to_error: Option<ToError<E>>) -> Self {
        let limit = to_error.and_then(|to_error| {
            let limit = policy.attempt_limit(call.elapsed())?;
            Some(Bound {
                deadline: Instant::now() + limit,
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

/// `E::from`, as the converter [`Attempt::limited`] takes: the attribute's `timeout` key checks
/// `E: From<TimedOut>` here, at the user's return type.
#[diagnostic::on_unimplemented(
    message = "`timeout` needs `{Self}` to be made from a `vta_retry_runtime::TimedOut`",
    label = "`{Self}` has no `From<TimedOut>`",
    note = "implement `From<vta_retry_runtime::TimedOut>` for `{Self}`, for example with a variant `#[error(transparent)] TimedOut(#[from] TimedOut)`"
)]
pub trait FromTimedOut: Sized {
    /// The error for an attempt cut after `TimedOut::limit`.
    fn from_timed_out(timed_out: TimedOut) -> Self;
}

impl<E: From<TimedOut>> FromTimedOut for E {
    #[inline]
    fn from_timed_out(timed_out: TimedOut) -> Self {
        E::from(timed_out)
    }
}

/// `E::from`, as the function form's [`Policy::retry`] asks it: the policy is a value, and may
/// set a timeout.
#[diagnostic::on_unimplemented(
    message = "`Policy::retry` needs `{Self}` to be made from a `vta_retry_runtime::TimedOut`: the policy may cut an attempt with its `timeout`",
    label = "`{Self}` has no `From<TimedOut>`",
    note = "implement `From<vta_retry_runtime::TimedOut>` for `{Self}`; `vta_retry(label, op)`, whose policy has no timeout, does not ask it"
)]
pub trait PolicyMayCut: Sized {
    /// The error for an attempt cut after `TimedOut::limit`.
    fn from_timed_out(timed_out: TimedOut) -> Self;
}

impl<E: From<TimedOut>> PolicyMayCut for E {
    #[inline]
    fn from_timed_out(timed_out: TimedOut) -> Self {
        E::from(timed_out)
    }
}

/// The converter for the outcome `R`, checked at compile time.
#[inline]
pub fn timed_out_error<R>() -> Option<ToError<R::Error>>
where
    R: RetryOutcome,
    R::Error: FromTimedOut,
{
    Some(<R::Error as FromTimedOut>::from_timed_out)
}

/// The converter for a `policy = PATH` whose timeout the macro cannot see: found by autoref
/// specialisation at the expansion, `E::from` when `E: From<TimedOut>`, otherwise none, and then
/// a build error if the policy does set a timeout (`CUTS`).
pub struct TimeoutConversion<E, const CUTS: bool>(PhantomData<fn() -> E>);

impl<E, const CUTS: bool> TimeoutConversion<E, CUTS> {
    /// The probe.
    pub const PROBE: Self = Self(PhantomData);
}

/// The probe's answer when `E: From<TimedOut>`.
pub trait ConvertsTimedOut<E> {
    /// `E::from`.
    fn converter(&self) -> Option<ToError<E>>;
}

impl<E: From<TimedOut>, const CUTS: bool> ConvertsTimedOut<E> for &TimeoutConversion<E, CUTS> {
    #[inline]
    fn converter(&self) -> Option<ToError<E>> {
        Some(E::from)
    }
}

/// The probe's answer otherwise.
pub trait CannotConvertTimedOut<E> {
    /// None; a build error when the policy sets a timeout.
    fn converter(&self) -> Option<ToError<E>>;
}

impl<E, const CUTS: bool> CannotConvertTimedOut<E> for TimeoutConversion<E, CUTS> {
    #[inline]
    fn converter(&self) -> Option<ToError<E>> {
        const {
            assert!(
                !CUTS,
                "this policy sets a `timeout`, and the function's error type has no `From<vta_retry_runtime::TimedOut>`"
            );
        }
        None
    }
}

/// After an attempt of a call classified by the error type's [`Retryable`]: `None` to return its
/// outcome, `Some(wait)` to sleep and try again.
#[inline]
pub fn after_attempt<'f, R, H, D>(
    policy: Policy,
    call: &mut Call,
    function: &'f str,
    outcome: &R,
    on_retry: H,
    describe: D,
) -> Option<Duration>
where
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
pub fn after_attempt_if<'f, R, C, K, H, D>(
    policy: Policy,
    call: &mut Call,
    function: &'f str,
    outcome: &R,
    retry_if: C,
    hints: K,
    on_retry: H,
    describe: D,
) -> Option<Duration>
where
    R: RetryOutcome,
    C: FnOnce(&R::Error) -> bool,
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
fn after_failure<'f, E, H, D>(
    policy: Policy,
    call: &mut Call,
    function: &'f str,
    error: &E,
    transient: bool,
    hint: ServerSays,
    on_retry: H,
    describe: D,
) -> Option<Duration>
where
    H: FnOnce(&E, &RetryEvent<'f>),
    D: Describe<E>,
{
    // Another retry owner decides on this outcome: this call makes one attempt.
    if call.owned_elsewhere() {
        call.ownership = Ownership::NESTED;
        trace_collapsed(function);
        return None;
    }
    call.mark_started();
    let failure = Failure {
        attempt: call.attempt,
        transient,
        retry_after: hint.retry_after,
        in_progress: hint.in_progress,
        elapsed: call.elapsed(),
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

/// The probe: the outcome's type, with no bound on it.
pub struct HintProbe<R>(PhantomData<fn(&R)>);

impl<R> HintProbe<R> {
    /// The probe for `outcome`'s type.
    #[inline]
    pub const fn of(_: &R) -> Self {
        Self(PhantomData)
    }
}

/// The probe's answer for a `Result` whose error is [`Retryable`].
pub trait HintsByType {
    /// The reader.
    fn hints(&self) -> HintByType;
}

impl<T, E: Retryable> HintsByType for &HintProbe<Result<T, E>> {
    #[inline]
    fn hints(&self) -> HintByType {
        HintByType
    }
}

/// The probe's answer otherwise.
pub trait NoHints {
    /// The reader.
    fn hints(&self) -> NoHint;
}

impl<R> NoHints for HintProbe<R> {
    #[inline]
    fn hints(&self) -> NoHint {
        NoHint
    }
}

/// Whether to sleep before the next attempt: a zero wait retries at once rather than waiting a
/// timer tick. Takes the wait by value, so the expansion never borrows its local (a borrowed
/// local would be stored in the future across the sleep).
#[inline]
pub const fn must_wait(wait: Duration) -> bool {
    !wait.is_zero()
}

/// The wait between attempts: tokio's timer itself. An `async fn` around it would make a future
/// that stores the duration twice beside the timer.
#[inline]
#[track_caller]
pub fn sleep(wait: Duration) -> Sleep {
    tokio::time::sleep(wait)
}

/// The pause between two attempts with no wait between them: a unit of tokio's cooperative
/// budget, and a yield to the scheduler once the budget is spent, as tokio's own resources do.
/// Without it, a body that fails without waiting would run every attempt inside one poll, where
/// neither `select!` nor a timeout around the call could stop it.
#[inline]
pub fn breathe() -> Breathe {
    Breathe
}

/// See [`breathe`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Breathe;

impl Future for Breathe {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        poll_breathe(cx)
    }
}

/// [`Breathe`]'s poll, for the function form's state machine.
#[inline]
pub(crate) fn poll_breathe(cx: &mut Context<'_>) -> Poll<()> {
    tokio::task::coop::poll_proceed(cx).map(|budget| budget.made_progress())
}

// ---- Describing an error for `tracing`, whatever it implements ----

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

/// The probe: the outcome's type, with no bound on it, so that a function that does not return
/// a `Result` is reported once, by [`after_attempt`], not again here.
pub struct DescribeProbe<R>(PhantomData<fn(&R)>);

impl<R> DescribeProbe<R> {
    /// The probe for `outcome`'s type.
    #[inline]
    pub const fn of(_: &R) -> Self {
        Self(PhantomData)
    }
}

/// The probe's answer for a `Result` whose error is `Display`.
pub trait DescribeByDisplay {
    /// The marker.
    fn describer(&self) -> ByDisplay;
}

impl<T, E: fmt::Display> DescribeByDisplay for &&DescribeProbe<Result<T, E>> {
    #[inline]
    fn describer(&self) -> ByDisplay {
        ByDisplay
    }
}

/// The probe's answer for a `Result` whose error is `Debug`.
pub trait DescribeByDebug {
    /// The marker.
    fn describer(&self) -> ByDebug;
}

impl<T, E: fmt::Debug> DescribeByDebug for &DescribeProbe<Result<T, E>> {
    #[inline]
    fn describer(&self) -> ByDebug {
        ByDebug
    }
}

/// The probe's answer otherwise.
pub trait DescribeByTypeName {
    /// The marker.
    fn describer(&self) -> ByTypeName;
}

impl<R> DescribeByTypeName for DescribeProbe<R> {
    #[inline]
    fn describer(&self) -> ByTypeName {
        ByTypeName
    }
}

/// An error and how to write it, as `Display`.
struct Described<'a, E, D>(&'a E, &'a D);

impl<E, D: Describe<E>> fmt::Display for Described<'_, E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.1.describe(self.0, f)
    }
}

// ---- `tracing`, when the feature is on; nothing at all when it is off ----

/// The span each attempt after the first runs in.
#[cfg(feature = "tracing")]
struct AttemptSpan {
    span: Option<tracing::Span>,
}

#[cfg(feature = "tracing")]
impl AttemptSpan {
    fn for_attempt(function: &str, attempt: u32) -> Self {
        Self {
            span: (attempt > 1).then(|| tracing::info_span!("retry", function, attempt)),
        }
    }

    fn entered(&self) -> Option<tracing::span::Entered<'_>> {
        self.span.as_ref().map(tracing::Span::enter)
    }

    fn enter_until_dropped(self) -> EnteredAttemptSpan {
        EnteredAttemptSpan(self.span.map(tracing::Span::entered))
    }
}

/// An attempt's span, entered until dropped.
#[cfg(feature = "tracing")]
struct EnteredAttemptSpan(#[allow(dead_code)] Option<tracing::span::EnteredSpan>);

#[cfg(not(feature = "tracing"))]
struct AttemptSpan;

#[cfg(not(feature = "tracing"))]
impl AttemptSpan {
    #[inline]
    fn for_attempt(_: &str, _: u32) -> Self {
        Self
    }

    #[inline]
    fn entered(&self) {}

    #[inline]
    fn enter_until_dropped(self) -> EnteredAttemptSpan {
        EnteredAttemptSpan
    }
}

#[cfg(not(feature = "tracing"))]
struct EnteredAttemptSpan;

/// A call made inside another's attempt collapses to one attempt; said once per process at
/// `WARN` (it is usually a mistake to fix: two retry owners), and at `DEBUG` every time.
#[cfg(feature = "tracing")]
#[cold]
fn trace_collapsed(function: &str) {
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
fn trace_collapsed(_: &str) {}

#[cfg(feature = "tracing")]
fn trace_retry<E, D: Describe<E>>(event: &RetryEvent<'_>, error: Described<'_, E, D>) {
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
fn trace_retry<E, D>(_: &RetryEvent<'_>, _: Described<'_, E, D>) {}

#[cfg(feature = "tracing")]
fn trace_give_up<E, D: Describe<E>>(
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
fn trace_give_up<E, D>(_: &str, _: &Failure, _: GiveUp, _: bool, _: Described<'_, E, D>) {}

// ---- Probes the expansion runs where the types are known ----

/// How an outcome's error is written in a log line, chosen where the type is known.
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_describer {
    ($outcome:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{
            DescribeByDebug as _, DescribeByDisplay as _, DescribeByTypeName as _,
        };
        (&&&$crate::__private::DescribeProbe::of($outcome)).describer()
    }};
}
pub use crate::__vta_describer as describer;

/// How a `retry_if` call reads the server's hint from an outcome's error, chosen where the type
/// is known.
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_hints {
    ($outcome:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{HintsByType as _, NoHints as _};
        (&&$crate::__private::HintProbe::of($outcome)).hints()
    }};
}
pub use crate::__vta_hints as hints;

/// The timed-out conversion for the error type `$error` under a policy whose timeout only the
/// compiler knows: `Some(E::from)` if there is one, else `None`, and a build error if `$cuts`.
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_timeout_converter {
    ($error:ty, $cuts:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{CannotConvertTimedOut as _, ConvertsTimedOut as _};
        (&&$crate::__private::TimeoutConversion::<$error, { $cuts }>::PROBE).converter()
    }};
}
pub use crate::__vta_timeout_converter as timeout_converter;

// ---- `retry_if` and `on_retry` given a function that takes the error by value ----

/// The probe for a `retry_if = path` or `on_retry = path`: the path's type `P`, beside the
/// function's error type `E`, so that a function taking the error by value gets an error that
/// says so, and any other function passes on as written (and is coerced to its pointer type,
/// whose mismatch rustc reports with both types).
pub struct SignatureProbe<E, P>(PhantomData<fn(&E, P)>);

impl<E, P> SignatureProbe<E, P> {
    /// The probe for `path`'s type.
    #[inline]
    pub const fn of(_: &P) -> Self {
        Self(PhantomData)
    }
}

/// A function as written, for the coercion that checks it.
pub struct AsWritten<P>(P);

/// A `retry_if` function that takes the error by value.
pub struct RetryIfTakesErrorByValue;

/// An `on_retry` function that takes the error by value.
pub struct OnRetryTakesErrorByValue;

/// The probe's answer for a `retry_if` function of the error by value.
pub trait RetryIfByValue<P> {
    /// The mistake, named.
    fn retry_if(&self, function: P) -> RetryIfTakesErrorByValue;
}

impl<E, P: Fn(E) -> bool> RetryIfByValue<P> for &SignatureProbe<E, P> {
    #[inline]
    fn retry_if(&self, _: P) -> RetryIfTakesErrorByValue {
        RetryIfTakesErrorByValue
    }
}

/// The probe's answer for an `on_retry` function of the error by value.
pub trait OnRetryByValue<P> {
    /// The mistake, named.
    fn on_retry(&self, function: P) -> OnRetryTakesErrorByValue;
}

impl<E, P: for<'a> Fn(E, &RetryEvent<'a>)> OnRetryByValue<P> for &SignatureProbe<E, P> {
    #[inline]
    fn on_retry(&self, _: P) -> OnRetryTakesErrorByValue {
        OnRetryTakesErrorByValue
    }
}

/// The probe's answer otherwise: the function as written.
pub trait FunctionAsWritten<P> {
    /// The function, for `retry_if`.
    fn retry_if(&self, function: P) -> AsWritten<P>;
    /// The function, for `on_retry`.
    fn on_retry(&self, function: P) -> AsWritten<P>;
}

impl<E, P> FunctionAsWritten<P> for SignatureProbe<E, P> {
    #[inline]
    fn retry_if(&self, function: P) -> AsWritten<P> {
        AsWritten(function)
    }

    #[inline]
    fn on_retry(&self, function: P) -> AsWritten<P> {
        AsWritten(function)
    }
}

/// A `retry_if` function that takes the error as it is given: by reference.
#[diagnostic::on_unimplemented(
    message = "`retry_if` is given the error by reference: its function must take `&{E}`, not `{E}`",
    label = "this function takes the error by value",
    note = "write it as `fn is_transient(error: &{E}) -> bool`"
)]
pub trait RetryIfFunction<E> {
    /// The function.
    type Function;
    /// The function.
    fn function(self) -> Self::Function;
}

impl<E, P> RetryIfFunction<E> for AsWritten<P> {
    type Function = P;
    #[inline]
    fn function(self) -> P {
        self.0
    }
}

/// An `on_retry` function that takes the error as it is given: by reference.
#[diagnostic::on_unimplemented(
    message = "`on_retry` is given the error by reference: its function must take `&{E}`, not `{E}`",
    label = "this function takes the error by value",
    note = "write it as `fn log_retry(error: &{E}, retry: &RetryEvent)`"
)]
pub trait OnRetryFunction<E> {
    /// The function.
    type Function;
    /// The function.
    fn function(self) -> Self::Function;
}

impl<E, P> OnRetryFunction<E> for AsWritten<P> {
    type Function = P;
    #[inline]
    fn function(self) -> P {
        self.0
    }
}

/// The `retry_if` function the probe passed on, for `E`.
#[inline]
pub fn retry_if_function<E, A: RetryIfFunction<E>>(answer: A) -> A::Function {
    answer.function()
}

/// The `on_retry` function the probe passed on, for `E`.
#[inline]
pub fn on_retry_function<E, A: OnRetryFunction<E>>(answer: A) -> A::Function {
    answer.function()
}

// ---- Arguments as passed ----

/// A `mut` argument, made afresh for each attempt from the one the caller passed.
#[diagnostic::on_unimplemented(
    message = "`#[vta_retry]` starts every attempt from the arguments as passed, so a `mut` argument must be `Clone`, and `{Self}` is not",
    label = "an attempt may change this `mut` argument; the next one starts from a clone of the original",
    note = "take the argument by reference (`&mut {Self}` or `&{Self}`), or drop `mut` and make the mutable copy inside the body"
)]
pub trait FreshArgument: Sized {
    /// A copy of the argument as passed.
    fn fresh(&self) -> Self;
}

impl<T: Clone> FreshArgument for T {
    #[inline]
    fn fresh(&self) -> Self {
        self.clone()
    }
}

/// The argument as passed, for one attempt: a copy of a `Copy` value, a clone otherwise.
#[inline]
pub fn fresh_argument<T: FreshArgument>(original: &T) -> T {
    original.fresh()
}

// ---- `attempts = CONST` ----

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
