//! The policy: how many attempts, how long to wait between them, and when to stop early.
//!
//! Plain `Copy` data built by `const fn`, so `#[vta_retry]` builds it at compile time, and one
//! function, [`Policy::decide`], makes every decision the retry loop needs after a failure.

use std::time::Duration;

use crate::RetryBudget;

/// How many times to call, how long to wait between calls, and the bounds on the whole call.
///
/// ```
/// use std::time::Duration;
/// use vta_retry_runtime::{Backoff, Jitter, Policy};
///
/// // The team's usual policy, defined once and named by `#[vta_retry(policy = VTA_CALLS)]`.
/// const VTA_CALLS: Policy = Policy::new(3, Backoff::exponential(Duration::from_millis(500), Duration::from_secs(1)))
///     .with_jitter(Jitter::Full)
///     .with_timeout(Duration::from_secs(5))
///     .with_max_elapsed(Duration::from_secs(10));
///
/// assert_eq!(Policy::DEFAULT.attempts(), 3);
/// assert_eq!(VTA_CALLS.timeout(), Some(Duration::from_secs(5)));
/// ```
///
/// # Default
///
/// [`Policy::DEFAULT`]: 3 attempts, waiting 500 ms then 1 s, no jitter, no per-attempt timeout,
/// no deadline, server hints honoured up to 30 s, and no retry budget.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    attempts: u32,
    backoff: Backoff,
    jitter: Jitter,
    timeout: Option<Duration>,
    max_elapsed: Option<Duration>,
    max_hint: Duration,
    budget: Option<&'static RetryBudget>,
    /// The budget's name in metrics: the path `budget = …` names, else `"retry_budget"`.
    budget_name: &'static str,
}

/// Equal when every setting is, the budget by identity: two policies drawing on one `static`
/// (under whatever name metrics report it).
impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        let same_budget = match (self.budget, other.budget) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        };
        (
            self.attempts,
            self.backoff,
            self.jitter,
            self.timeout,
            self.max_elapsed,
            self.max_hint,
        ) == (
            other.attempts,
            other.backoff,
            other.jitter,
            other.timeout,
            other.max_elapsed,
            other.max_hint,
        ) && same_budget
    }
}

impl Eq for Policy {}

impl Policy {
    /// `#[vta_retry]` with no arguments: 3 attempts, waiting 500 ms then 1 s.
    pub const DEFAULT: Self = Self::new(
        3,
        Backoff::exponential(Duration::from_millis(500), Duration::from_secs(1)),
    );

    /// The longest server-requested wait honoured by default: the 30 s ceiling `vta-sdk` itself
    /// puts on `Retry-After`.
    pub const DEFAULT_MAX_HINT: Duration = Duration::from_secs(30);

    /// A policy of `attempts` calls in total, the first included, with `backoff` between them,
    /// and the other settings at their defaults.
    ///
    /// `attempts = 0` is read as 1: the first call is always made. (`#[vta_retry]` rejects 0 at
    /// compile time instead.)
    pub const fn new(attempts: u32, backoff: Backoff) -> Self {
        Self {
            attempts: if attempts == 0 { 1 } else { attempts },
            backoff,
            jitter: Jitter::None,
            timeout: None,
            max_elapsed: None,
            max_hint: Self::DEFAULT_MAX_HINT,
            budget: None,
            budget_name: Self::DEFAULT_BUDGET_NAME,
        }
    }

    /// The same policy with `attempts` calls in total (0 is read as 1).
    #[must_use]
    pub const fn with_attempts(self, attempts: u32) -> Self {
        Self {
            attempts: if attempts == 0 { 1 } else { attempts },
            ..self
        }
    }

    /// The same policy with another backoff.
    #[must_use]
    pub const fn with_backoff(self, backoff: Backoff) -> Self {
        Self { backoff, ..self }
    }

    /// The same policy with its waits spread by `jitter`.
    #[must_use]
    pub const fn with_jitter(self, jitter: Jitter) -> Self {
        Self { jitter, ..self }
    }

    /// The same policy with each attempt cut after `timeout`. An attempt cut short counts as a
    /// transient failure, reported as [`TimedOut`](crate::TimedOut).
    #[must_use]
    pub const fn with_timeout(self, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..self
        }
    }

    /// The same policy with a deadline for the whole call, counted from its start: no attempt
    /// starts after it, and no wait ends past it.
    #[must_use]
    pub const fn with_max_elapsed(self, max_elapsed: Duration) -> Self {
        Self {
            max_elapsed: Some(max_elapsed),
            ..self
        }
    }

    /// The same policy honouring server hints up to `max_hint`; an error that asks for a longer
    /// wait is returned at once.
    #[must_use]
    pub const fn with_max_hint(self, max_hint: Duration) -> Self {
        Self { max_hint, ..self }
    }

    /// The same policy drawing its retries from `budget`, a `static` shared with other
    /// policies: a retry is made only while the budget allows it.
    #[must_use]
    pub const fn with_budget(self, budget: &'static RetryBudget) -> Self {
        Self {
            budget: Some(budget),
            ..self
        }
    }

    /// As [`with_budget`](Self::with_budget), with the name the budget's tokens are reported
    /// under by feature `metrics` (`vta_retry_budget_tokens{budget="…"}`). `#[vta_retry]`'s
    /// `budget = PATH` names it after the path.
    #[must_use]
    pub const fn with_named_budget(self, budget: &'static RetryBudget, name: &'static str) -> Self {
        Self {
            budget: Some(budget),
            budget_name: name,
            ..self
        }
    }

    /// The name a budget is reported under when none is given.
    pub const DEFAULT_BUDGET_NAME: &'static str = "retry_budget";

    /// Total calls, the first included.
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The waits between calls, before jitter and hints.
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// How the waits are spread.
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The longest an attempt may run, if bounded.
    pub const fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The deadline of the whole call, counted from its start, if bounded.
    pub const fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The longest server-requested wait honoured.
    pub const fn max_hint(&self) -> Duration {
        self.max_hint
    }

    /// The retry budget drawn on, if any.
    pub const fn budget(&self) -> Option<&'static RetryBudget> {
        self.budget
    }

    /// The name the budget is reported under in metrics.
    pub const fn budget_name(&self) -> &'static str {
        self.budget_name
    }

    /// Whether a call under this policy reads the clock when it starts: a deadline and a timeout
    /// count from there. Reports of elapsed time ask for it themselves, later.
    pub const fn needs_start_time(&self) -> bool {
        self.max_elapsed.is_some() || self.timeout.is_some()
    }

    /// The decision after a failed attempt: wait and try again, or give up and return the error
    /// as it is. Every rule of the policy is here, in the order it applies:
    ///
    /// 1. a permanent error is never retried;
    /// 2. a transient one takes a token from the retry budget, if there is one;
    /// 3. no call is made beyond [`attempts`](Self::attempts);
    /// 4. a server hint longer than [`max_hint`](Self::max_hint) gives up at once, since waiting
    ///    less would only be refused again, unless the server is still working on the request
    ///    ([`Failure::in_progress`]): then the hint is cut to `max_hint`, and the call asks again;
    /// 5. a retry is made only while the budget allows;
    /// 6. the wait is the backoff's, spread by the jitter, and never shorter than the hint;
    /// 7. a wait that would end at or past the deadline gives up at once.
    pub fn decide(&self, failure: &Failure) -> Decision {
        if !failure.transient {
            return Decision::GiveUp(GiveUp::Permanent);
        }
        if let Some(budget) = self.budget
            && budget.record_failure()
        {
            crate::engine::report_budget(self.budget_name, budget);
        }
        if failure.attempt >= self.attempts {
            return Decision::GiveUp(GiveUp::AttemptsExhausted);
        }
        let hint = match failure.retry_after {
            Some(hint) if hint > self.max_hint && !failure.in_progress => {
                return Decision::GiveUp(GiveUp::HintTooLong(hint));
            }
            Some(hint) => hint.min(self.max_hint),
            None => Duration::ZERO,
        };
        if self.budget.is_some_and(|budget| !budget.allows_retry()) {
            return Decision::GiveUp(GiveUp::BudgetExhausted);
        }
        let scheduled = self.backoff.wait_after(failure.attempt);
        let wait = self.jitter.spread(scheduled).max(hint);
        let ends_at = failure.elapsed.saturating_add(wait);
        if self.max_elapsed.is_some_and(|deadline| ends_at >= deadline) {
            return Decision::GiveUp(GiveUp::Deadline);
        }
        Decision::Retry(wait)
    }

    /// After a call's attempt succeeded: refills the retry budget, if there is one.
    #[inline]
    pub fn succeeded(&self) {
        if let Some(budget) = self.budget
            && budget.record_success()
        {
            crate::engine::report_budget(self.budget_name, budget);
        }
    }

    /// The longest the attempt starting at `elapsed` into the call may run: the timeout, cut to
    /// what is left before the deadline. `None` when attempts are not bounded.
    pub fn attempt_limit(&self, elapsed: Duration) -> Option<Duration> {
        let timeout = self.timeout?;
        Some(match self.max_elapsed {
            Some(deadline) => timeout.min(deadline.saturating_sub(elapsed)),
            None => timeout,
        })
    }

    /// The scheduled waits of this policy, in order, before jitter and hints: one fewer than its
    /// attempts.
    pub fn waits(&self) -> impl Iterator<Item = Duration> + use<> {
        let backoff = self.backoff;
        (1..self.attempts).map(move |failed| backoff.wait_after(failed))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One failed attempt, as [`Policy::decide`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The attempt that failed, counting from 1.
    pub attempt: u32,
    /// Whether another attempt could succeed.
    pub transient: bool,
    /// How long the server asked to wait, if it said.
    pub retry_after: Option<Duration>,
    /// Whether the server said it is still working on this request (the VTA's `Unavailable`),
    /// so that a hint past `max_hint` is waited up to `max_hint` rather than given up on.
    pub in_progress: bool,
    /// Time since the call started (zero when the policy keeps no deadline).
    pub elapsed: Duration,
}

/// What the retry loop does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then make the next attempt.
    Retry(Duration),
    /// Return the error as it is.
    GiveUp(GiveUp),
}

/// Why the retry loop returned an error instead of trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GiveUp {
    /// The error is permanent: a re-send would get the same answer.
    Permanent,
    /// That was the last attempt.
    AttemptsExhausted,
    /// The server asked for a longer wait than the policy's `max_hint`.
    HintTooLong(Duration),
    /// The next attempt could not start before the call's deadline.
    Deadline,
    /// The retry budget is spent: too many attempts are failing.
    BudgetExhausted,
}

impl GiveUp {
    /// A short phrase for logs: `"permanent error"`, `"attempts exhausted"`, …
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Permanent => "permanent error",
            Self::AttemptsExhausted => "attempts exhausted",
            Self::HintTooLong(_) => "server asked for a longer wait than max_hint",
            Self::Deadline => "deadline",
            Self::BudgetExhausted => "retry budget exhausted",
        }
    }
}

/// How the scheduled waits are spread, so that clients that failed together do not retry
/// together.
///
/// With `d` the scheduled wait:
/// - `None`: exactly `d`;
/// - `Full`: uniform in `[0, d]`;
/// - `Equal`: `d/2` plus uniform in `[0, d/2]`.
///
/// Full jitter spreads a crowd of clients the most and, in AWS's comparison ("Exponential Backoff
/// And Jitter", Marc Brooker, 2015), finishes the crowd's work with the fewest calls; equal
/// jitter keeps at least half of each wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Jitter {
    /// Every wait exactly as scheduled.
    #[default]
    None,
    /// Each wait uniform in `[0, d]`.
    Full,
    /// Each wait `d/2` plus uniform in `[0, d/2]`.
    Equal,
}

impl Jitter {
    /// The wait to use for a scheduled wait of `scheduled`.
    pub fn spread(self, scheduled: Duration) -> Duration {
        match self {
            Self::None => scheduled,
            Self::Full => uniform_up_to(scheduled),
            Self::Equal => {
                let half = scheduled / 2;
                half + uniform_up_to(scheduled - half)
            }
        }
    }
}

/// Uniform in `[0, limit]`, to the nanosecond, from the thread's `fastrand` generator.
fn uniform_up_to(limit: Duration) -> Duration {
    let nanos = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// The wait before each retry: a first wait that doubles after every failure, never above a cap.
/// A constant wait is the case where the two are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backoff {
    first: Duration,
    max: Duration,
}

impl Backoff {
    /// Waits `first`, then twice that, and so on, never more than `max`. A `max` below `first` is
    /// read as `first`.
    pub const fn exponential(first: Duration, max: Duration) -> Self {
        let max = if max.as_nanos() < first.as_nanos() {
            first
        } else {
            max
        };
        Self { first, max }
    }

    /// Waits `wait` before every retry.
    pub const fn constant(wait: Duration) -> Self {
        Self::exponential(wait, wait)
    }

    /// The wait before the second attempt.
    pub const fn first(&self) -> Duration {
        self.first
    }

    /// The longest wait.
    pub const fn max(&self) -> Duration {
        self.max
    }

    /// The wait after attempt `failed_attempt` (counting from 1) failed: `first × 2^(n−1)`,
    /// capped at `max`. Saturates instead of overflowing, whatever the attempt number.
    pub fn wait_after(&self, failed_attempt: u32) -> Duration {
        let doublings = failed_attempt.saturating_sub(1);
        1u32.checked_shl(doublings)
            .and_then(|factor| self.first.checked_mul(factor))
            .map_or(self.max, |wait| wait.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn failure(attempt: u32) -> Failure {
        Failure {
            attempt,
            transient: true,
            retry_after: None,
            in_progress: false,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn waits_double_up_to_the_cap() {
        let backoff = Backoff::exponential(100 * MS, 1000 * MS);
        let waits: Vec<_> = (1..=6).map(|n| backoff.wait_after(n)).collect();
        assert_eq!(
            waits,
            [100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]
        );
    }

    #[test]
    fn waits_saturate_at_the_cap_for_any_attempt() {
        let backoff = Backoff::exponential(Duration::from_secs(1), Duration::MAX);
        assert_eq!(backoff.wait_after(33), Duration::MAX);
        assert_eq!(backoff.wait_after(u32::MAX), Duration::MAX);
        assert_eq!(backoff.wait_after(0), Duration::from_secs(1));
    }

    #[test]
    fn a_cap_below_the_first_wait_is_raised_to_it() {
        assert_eq!(Backoff::exponential(2 * MS, MS), Backoff::constant(2 * MS));
    }

    #[test]
    fn only_transient_failures_before_the_last_attempt_are_retried() {
        let policy = Policy::new(3, Backoff::constant(MS));
        assert_eq!(policy.decide(&failure(1)), Decision::Retry(MS));
        assert_eq!(policy.decide(&failure(2)), Decision::Retry(MS));
        assert_eq!(
            policy.decide(&failure(3)),
            Decision::GiveUp(GiveUp::AttemptsExhausted)
        );
        let permanent = Failure {
            transient: false,
            ..failure(1)
        };
        assert_eq!(
            policy.decide(&permanent),
            Decision::GiveUp(GiveUp::Permanent)
        );
    }

    #[test]
    fn zero_attempts_still_makes_the_first_call() {
        let policy = Policy::new(0, Backoff::constant(MS)).with_attempts(0);
        assert_eq!(policy.attempts(), 1);
        assert_eq!(
            policy.decide(&failure(1)),
            Decision::GiveUp(GiveUp::AttemptsExhausted)
        );
        assert_eq!(policy.waits().count(), 0);
    }

    #[test]
    fn a_hint_lengthens_the_wait_and_one_past_max_hint_gives_up() {
        let policy = Policy::new(3, Backoff::constant(500 * MS)).with_max_hint(2000 * MS);
        let hinted = |hint| Failure {
            retry_after: Some(hint),
            ..failure(1)
        };
        assert_eq!(policy.decide(&hinted(100 * MS)), Decision::Retry(500 * MS));
        assert_eq!(
            policy.decide(&hinted(2000 * MS)),
            Decision::Retry(2000 * MS)
        );
        assert_eq!(
            policy.decide(&hinted(2001 * MS)),
            Decision::GiveUp(GiveUp::HintTooLong(2001 * MS))
        );
    }

    #[test]
    fn a_long_hint_from_a_server_still_working_is_waited_up_to_max_hint() {
        let policy = Policy::new(3, Backoff::constant(500 * MS)).with_max_hint(2000 * MS);
        let still_running = Failure {
            retry_after: Some(Duration::from_secs(60)),
            in_progress: true,
            ..failure(1)
        };
        assert_eq!(policy.decide(&still_running), Decision::Retry(2000 * MS));
        let soon = Failure {
            retry_after: Some(1500 * MS),
            ..still_running
        };
        assert_eq!(policy.decide(&soon), Decision::Retry(1500 * MS));
        let refused = Failure {
            in_progress: false,
            ..still_running
        };
        assert_eq!(
            policy.decide(&refused),
            Decision::GiveUp(GiveUp::HintTooLong(Duration::from_secs(60)))
        );
    }

    #[test]
    fn a_wait_that_would_end_at_the_deadline_gives_up() {
        let policy = Policy::new(5, Backoff::constant(100 * MS)).with_max_elapsed(1000 * MS);
        let at = |elapsed| Failure {
            elapsed,
            ..failure(1)
        };
        assert_eq!(policy.decide(&at(899 * MS)), Decision::Retry(100 * MS));
        assert_eq!(
            policy.decide(&at(900 * MS)),
            Decision::GiveUp(GiveUp::Deadline)
        );
    }

    #[test]
    fn the_attempt_limit_is_the_timeout_cut_to_the_deadline() {
        let policy = Policy::DEFAULT.with_timeout(300 * MS);
        assert_eq!(
            policy.attempt_limit(Duration::from_secs(99)),
            Some(300 * MS)
        );
        let policy = policy.with_max_elapsed(1000 * MS);
        assert_eq!(policy.attempt_limit(500 * MS), Some(300 * MS));
        assert_eq!(policy.attempt_limit(800 * MS), Some(200 * MS));
        assert_eq!(policy.attempt_limit(1200 * MS), Some(Duration::ZERO));
        assert_eq!(Policy::DEFAULT.with_max_elapsed(MS).attempt_limit(MS), None);
    }

    #[test]
    fn jitter_stays_within_its_bounds_and_varies() {
        let d = 1000 * MS;
        let full: Vec<_> = (0..2000).map(|_| Jitter::Full.spread(d)).collect();
        let equal: Vec<_> = (0..2000).map(|_| Jitter::Equal.spread(d)).collect();
        assert!(full.iter().all(|w| *w <= d));
        assert!(equal.iter().all(|w| *w >= d / 2 && *w <= d));
        // 2,000 draws from a range of 10^9 values: all alike would mean no randomness at all.
        assert!(full.iter().any(|w| *w != full[0]));
        assert!(equal.iter().any(|w| *w != equal[0]));
        // Both halves of each range are reached.
        assert!(full.iter().any(|w| *w < d / 2) && full.iter().any(|w| *w > d / 2));
        assert_eq!(Jitter::None.spread(d), d);
        assert_eq!(Jitter::Full.spread(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn jitter_never_shortens_a_wait_below_the_hint() {
        let policy = Policy::new(3, Backoff::constant(1000 * MS)).with_jitter(Jitter::Full);
        let hinted = Failure {
            retry_after: Some(900 * MS),
            ..failure(1)
        };
        for _ in 0..500 {
            let Decision::Retry(wait) = policy.decide(&hinted) else {
                panic!("a transient failure was not retried");
            };
            assert!(wait >= 900 * MS && wait <= 1000 * MS, "{wait:?}");
        }
    }
}
