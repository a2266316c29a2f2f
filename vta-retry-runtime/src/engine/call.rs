//! One call's state across its attempts, and its clock.

use std::time::Duration;

use tokio::time::Instant;

use super::decide::Function;
use super::metrics::{self, AttemptOutcome, CallIs};
use super::report::trace_collapsed;
use crate::context::{Ownership, Published};
use crate::policy::Policy;
use crate::vta_key::{self, KeyRole};

/// The state of one call that lives across its attempts: 16 bytes, and 16 more for a clock when
/// the policy needs one. `Copy`, so that [`pause`](super::wait::pause) can carry it across a
/// wait.
#[derive(Debug, Clone, Copy)]
pub struct Call<C> {
    /// The attempt running or last run, from 1.
    pub(super) attempt: u32,
    /// Whether the last attempt was cut by the timeout.
    pub(super) timed_out: bool,
    /// What the call is to the VTA idempotency key in scope.
    vta_key: KeyRole,
    /// Whether this call owns retry (and its serial number), decided when its first attempt's
    /// context is published.
    pub(super) ownership: Ownership,
    /// When the call started, where anything needs to know.
    pub(super) clock: C,
    /// When the attempt running or last run started, for its duration in metrics.
    #[cfg(feature = "metrics")]
    attempt_started: Option<Instant>,
}

impl<C: StartTime> Call<C> {
    /// A call starting now, about to make its first attempt.
    #[inline]
    pub fn start(policy: &Policy) -> Self {
        let mut call = Self::unstarted(C::UNSTARTED);
        call.begin(policy);
        call
    }

    /// A call that holds one VTA idempotency key across its attempts, starting now: made by the
    /// first statement of the loop that `hold_vta_key` runs.
    #[inline]
    pub fn start_keyed(policy: &Policy) -> Self {
        let mut call = Self::start(policy);
        call.vta_key = vta_key::take_role();
        call
    }

    /// A call that has not started: the function form's, made when it is built.
    #[inline]
    pub(crate) const fn unstarted(clock: C) -> Self {
        Self {
            attempt: 1,
            timed_out: false,
            vta_key: KeyRole::Unkeyed,
            ownership: Ownership::UNDECIDED,
            clock,
            #[cfg(feature = "metrics")]
            attempt_started: None,
        }
    }

    /// The call starts: a deadline and a timeout count from now. Whether it owns retry is
    /// decided when its first attempt publishes its context, in the same poll.
    #[inline]
    pub(crate) fn begin(&mut self, policy: &Policy) {
        self.clock.begin(policy);
    }

    /// Makes this call one that holds (or runs under) a VTA key, for the function form.
    pub(crate) fn set_key_role(&mut self, role: KeyRole) {
        self.vta_key = role;
    }

    /// The attempt running or last run, from 1.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Publishes the context of the attempt about to run in place.
    #[inline]
    pub(super) fn publish(&self, max_attempts: u32) -> Published {
        Published::enter(self.ownership, self.attempt, max_attempts)
    }

    /// Publishes the context of the attempt about to be polled.
    #[inline]
    pub(super) fn publish_poll(&self, max_attempts: u32) -> Published {
        Published::enter_poll(self.ownership, self.attempt, max_attempts)
    }

    /// Withdraws what [`Call::publish`] published, keeping a serial number drawn meanwhile.
    #[inline]
    pub(super) fn withdraw(&mut self, published: Published) {
        self.ownership = published.leave(self.ownership);
    }

    /// After a successful attempt: the budget is refilled, and the attempt and the call are
    /// counted, by the call that owns retry; a call made inside another's attempt says that it
    /// collapsed.
    #[inline]
    pub(super) fn succeeded(&self, policy: &Policy, function: Function<'_>) {
        // Nothing to do without a budget, `tracing` or `metrics`: the policy is a constant, so a
        // call without any of them does not even read its ownership here.
        if policy.budget().is_none() && !cfg!(feature = "tracing") && !cfg!(feature = "metrics") {
            return;
        }
        if self.ownership == Ownership::NESTED {
            trace_collapsed(function.name());
        } else {
            policy.succeeded();
            metrics::attempt_ended(
                function.series(),
                AttemptOutcome::Ok,
                self.attempt_duration(),
                CallIs::Ended(None),
            );
        }
    }

    /// The attempt starts now: its duration is measured, with feature `metrics`, unless the call
    /// runs inside another's attempt, which reports for it.
    #[inline]
    pub(super) fn attempt_starts(&mut self) {
        #[cfg(feature = "metrics")]
        if self.ownership != Ownership::NESTED {
            // The first attempt starts with the call: its start is not read twice.
            self.attempt_started = match self.clock.started() {
                Some(call_started) if self.attempt == 1 => Some(call_started),
                _ => Some(Instant::now()),
            };
        }
    }

    /// How long the attempt running or last run has taken: zero without feature `metrics`.
    #[inline]
    pub(super) fn attempt_duration(&self) -> Duration {
        #[cfg(feature = "metrics")]
        {
            self.attempt_started
                .map_or(Duration::ZERO, |started| started.elapsed())
        }
        #[cfg(not(feature = "metrics"))]
        {
            Duration::ZERO
        }
    }

    /// Whether another retry owner decides on this call's failure, so that it makes one attempt:
    /// a `#[vta_retry]` call whose attempt it runs in, or the holder of the VTA key in scope
    /// (vta-sdk's `VtaClient::idempotent`). Asked only after a failure, so that a call that
    /// succeeds pays nothing for it.
    pub(super) fn owned_elsewhere(&self) -> bool {
        match self.vta_key {
            _ if self.ownership == Ownership::NESTED => true,
            KeyRole::Holder => false,
            KeyRole::UnderAnotherHolder => true,
            KeyRole::Unkeyed => vta_key::key_in_scope(),
        }
    }
}

/// When a call started, as far as anything needs to know: nothing ([`NoClock`]), or the start
/// ([`Started`]), chosen at the expansion from the policy ([`ClockIf`]).
pub trait StartTime: Copy {
    /// Before the call starts.
    const UNSTARTED: Self;

    /// The call starts: a deadline and a timeout count from here.
    fn begin(&mut self, policy: &Policy);

    /// The call first waits on something, or first fails: reports of elapsed time count from
    /// the first of these when nothing asked for the start, so that a call that succeeds at once
    /// never reads the clock.
    fn mark(&mut self);

    /// Time since the call started (zero when nothing reads the clock).
    fn elapsed(&self) -> Duration;

    /// Time from the call's start to `now`.
    fn elapsed_at(&self, now: Instant) -> Duration;

    /// When the call started, if the clock was read then.
    fn started(&self) -> Option<Instant>;
}

/// The clock of a call that keeps no deadline, no timeout, and reports no elapsed time: none.
#[derive(Debug, Clone, Copy)]
pub struct NoClock;

impl StartTime for NoClock {
    const UNSTARTED: Self = Self;

    #[inline]
    fn begin(&mut self, _: &Policy) {}

    #[inline]
    fn mark(&mut self) {}

    #[inline]
    fn elapsed(&self) -> Duration {
        Duration::ZERO
    }

    #[inline]
    fn elapsed_at(&self, _: Instant) -> Duration {
        Duration::ZERO
    }

    #[inline]
    fn started(&self) -> Option<Instant> {
        None
    }
}

/// The clock of a call that needs one: read when it starts for a deadline or a timeout, else
/// when it first waits or fails.
#[derive(Debug, Clone, Copy)]
pub struct Started(Option<Instant>);

impl StartTime for Started {
    const UNSTARTED: Self = Self(None);

    #[inline]
    fn begin(&mut self, policy: &Policy) {
        if policy.needs_start_time() {
            self.0 = Some(Instant::now());
        }
    }

    #[inline]
    fn mark(&mut self) {
        if self.0.is_none() {
            self.0 = Some(Instant::now());
        }
    }

    fn elapsed(&self) -> Duration {
        self.0.map_or(Duration::ZERO, |started| started.elapsed())
    }

    fn elapsed_at(&self, now: Instant) -> Duration {
        self.0.map_or(Duration::ZERO, |started| {
            now.saturating_duration_since(started)
        })
    }

    #[inline]
    fn started(&self) -> Option<Instant> {
        self.0
    }
}

/// The function form's clock, whose policy is a value: [`Started`] when it needs one, else off.
#[derive(Debug, Clone, Copy)]
pub struct OnDemand {
    on: bool,
    started: Started,
}

impl OnDemand {
    /// A clock for `policy`, on when it has a deadline or a timeout, reports the elapsed time
    /// to a hook (`reports_elapsed`), or with `tracing`.
    pub(crate) const fn new(policy: &Policy, reports_elapsed: bool) -> Self {
        Self {
            on: clock_needed(policy.needs_start_time(), reports_elapsed),
            started: Started::UNSTARTED,
        }
    }
}

impl StartTime for OnDemand {
    const UNSTARTED: Self = Self {
        on: true,
        started: Started::UNSTARTED,
    };

    #[inline]
    fn begin(&mut self, policy: &Policy) {
        self.started.begin(policy);
    }

    #[inline]
    fn mark(&mut self) {
        if self.on {
            self.started.mark();
        }
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn elapsed_at(&self, now: Instant) -> Duration {
        self.started.elapsed_at(now)
    }

    fn started(&self) -> Option<Instant> {
        self.started.started()
    }
}

/// Whether a call needs a clock: its policy is `bounded` (a deadline or a timeout), a hook is
/// told the elapsed time (`reports_elapsed`), or the runtime has `tracing`, which reports it when
/// giving up. A `const fn`, for the expansion's choice of [`ClockIf`].
pub const fn clock_needed(bounded: bool, reports_elapsed: bool) -> bool {
    bounded || reports_elapsed || cfg!(feature = "tracing")
}

/// The clock of a call whose policy needs none: [`Started`] with `tracing`, which reports the
/// elapsed time when giving up, else [`NoClock`].
#[cfg(feature = "tracing")]
pub type ClockUnlessTraced = Started;

/// The clock of a call whose policy needs none: [`Started`] with `tracing`, which reports the
/// elapsed time when giving up, else [`NoClock`].
#[cfg(not(feature = "tracing"))]
pub type ClockUnlessTraced = NoClock;

/// The clock a call needs, as a type: `<ClockIf<{ clock_needed(..) }> as ClockFor>::Clock`.
#[derive(Debug)]
pub struct ClockIf<const NEEDED: bool>;

/// See [`ClockIf`].
pub trait ClockFor {
    /// [`Started`] or [`NoClock`].
    type Clock: StartTime;
}

impl ClockFor for ClockIf<true> {
    type Clock = Started;
}

impl ClockFor for ClockIf<false> {
    type Clock = NoClock;
}
