//! The policy: how many attempts, and how long to wait between them.
//!
//! Plain `Copy` data built by `const fn`, so `#[vta_retry]` builds it at compile time, and one
//! function, [`Policy::next_wait`], makes every decision the retry loop needs.

use std::time::Duration;

/// How many times to call, and how long to wait between calls.
///
/// ```
/// use std::time::Duration;
/// use vta_retry_runtime::{Backoff, Policy};
///
/// let policy = Policy::new(3, Backoff::exponential(Duration::from_millis(500), Duration::from_secs(1)));
/// assert_eq!(policy, Policy::DEFAULT);
/// assert_eq!(policy.waits().collect::<Vec<_>>(), [Duration::from_millis(500), Duration::from_secs(1)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    attempts: u32,
    backoff: Backoff,
}

impl Policy {
    /// `#[vta_retry]` with no arguments: 3 attempts, waiting 500 ms then 1 s.
    pub const DEFAULT: Self = Self::new(
        3,
        Backoff::exponential(Duration::from_millis(500), Duration::from_secs(1)),
    );

    /// A policy of `attempts` calls in total, the first included, with `backoff` between them.
    ///
    /// `attempts = 0` is read as 1: the first call is always made. (`#[vta_retry]` rejects 0 at
    /// compile time instead.)
    pub const fn new(attempts: u32, backoff: Backoff) -> Self {
        Self {
            attempts: if attempts == 0 { 1 } else { attempts },
            backoff,
        }
    }

    /// Total calls, the first included.
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The waits between calls.
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The decision after a failed attempt: `Some(wait)` to sleep `wait` and call again, `None`
    /// to return the error as it is.
    ///
    /// `failed_attempt` counts from 1. A permanent error is never retried, and no call is made
    /// beyond [`attempts`](Self::attempts).
    pub fn next_wait(&self, failed_attempt: u32, transient: bool) -> Option<Duration> {
        (transient && failed_attempt < self.attempts)
            .then(|| self.backoff.wait_after(failed_attempt))
    }

    /// Every wait this policy can make, in order: one fewer than its attempts.
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
        assert_eq!(policy.next_wait(1, true), Some(MS));
        assert_eq!(policy.next_wait(2, true), Some(MS));
        assert_eq!(policy.next_wait(3, true), None);
        assert_eq!(policy.next_wait(1, false), None);
    }

    #[test]
    fn zero_attempts_still_makes_the_first_call() {
        let policy = Policy::new(0, Backoff::constant(MS));
        assert_eq!(policy.attempts(), 1);
        assert_eq!(policy.next_wait(1, true), None);
        assert_eq!(policy.waits().count(), 0);
    }
}
