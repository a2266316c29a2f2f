//! A retry budget shared by every call that names it: retries stop when too many attempts fail,
//! so that retrying cannot multiply the load on a service that is down.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

/// A retry budget, with the semantics of gRPC's retry throttling (proposal A6):
///
/// - the token count starts at `max_tokens`;
/// - every failed attempt whose error is transient takes 1 token (a permanent error says nothing
///   about the service's health, and takes none);
/// - every success adds `token_ratio`, never above `max_tokens`;
/// - a retry is allowed only while the count is above `max_tokens / 2`.
///
/// In a full outage each failure takes a token until the count reaches half, and from then on
/// calls make one attempt each: retries add fewer than `max_tokens / 2` requests to an outage (4
/// for a budget of 10), however long it lasts. When the service answers again, successes refill the budget
/// and retries resume. It is a `static`, built by a `const fn`, shared by every function that
/// names it with `budget = PATH` (or [`Policy::with_budget`](crate::Policy::with_budget)), and
/// lock-free: atomics only, no allocation.
///
/// ```
/// use vta_retry_runtime::{RetryBudget, vta_retry};
///
/// /// Every call to the VTA draws on one budget.
/// static VTA_BUDGET: RetryBudget = RetryBudget::new(10, 0.1);
///
/// #[vta_retry(budget = VTA_BUDGET)]
/// async fn create_key(label: &str) -> std::io::Result<String> {
///     Ok(label.to_owned())
/// }
///
/// assert_eq!(VTA_BUDGET.tokens(), 10.0);
/// ```
pub struct RetryBudget {
    /// Tokens are counted in thousandths, so that a ratio of up to three decimals is exact.
    max_milli: u32,
    ratio_milli: u32,
    tokens_milli: AtomicU32,
}

/// Thousandths of a token.
const MILLI: u32 = 1000;

impl RetryBudget {
    /// A budget of `max_tokens` tokens, refilled by `token_ratio` tokens per success.
    ///
    /// `max_tokens` is at least 1 and at most 4,294,967; `token_ratio` is counted to three
    /// decimals, and a ratio of zero or less (or NaN) never refills.
    pub const fn new(max_tokens: u32, token_ratio: f32) -> Self {
        let max_tokens = if max_tokens == 0 { 1 } else { max_tokens };
        let max_milli = max_tokens.saturating_mul(MILLI);
        // Rounded to the nearest thousandth: `0.251` is `0.25099998` as an `f32`, which
        // truncation would make 250. `as` saturates: NaN and negatives are 0, huge ratios are
        // `u32::MAX`.
        let ratio_milli = (token_ratio * MILLI as f32 + 0.5) as u32;
        Self {
            max_milli,
            ratio_milli,
            tokens_milli: AtomicU32::new(max_milli),
        }
    }

    /// The tokens left.
    pub fn tokens(&self) -> f32 {
        self.tokens_milli.load(Ordering::Relaxed) as f32 / MILLI as f32
    }

    /// The tokens left as an `f64`, exact to the thousandth (an `f32`'s 6.1 is 6.0999999…).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn tokens_f64(&self) -> f64 {
        f64::from(self.tokens_milli.load(Ordering::Relaxed)) / f64::from(MILLI)
    }

    /// The most tokens the budget holds.
    pub const fn max_tokens(&self) -> f32 {
        self.max_milli as f32 / MILLI as f32
    }

    /// Whether a retry may be made now: the count is above half of `max_tokens`.
    pub fn allows_retry(&self) -> bool {
        self.tokens_milli.load(Ordering::Relaxed) > self.max_milli / 2
    }

    /// A failed attempt takes one token. Returns whether the count changed (not at zero).
    pub fn record_failure(&self) -> bool {
        self.tokens_milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                (tokens > 0).then(|| tokens.saturating_sub(MILLI))
            })
            .is_ok()
    }

    /// A success adds `token_ratio`, up to `max_tokens`. A full budget is only read: in a healthy
    /// fleet, successes do not contend on the counter. Returns whether the count changed.
    pub fn record_success(&self) -> bool {
        if self.tokens_milli.load(Ordering::Relaxed) >= self.max_milli {
            return false;
        }
        self.tokens_milli
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                (tokens < self.max_milli)
                    .then(|| tokens.saturating_add(self.ratio_milli).min(self.max_milli))
            })
            .is_ok()
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("tokens", &self.tokens())
            .field("max_tokens", &self.max_tokens())
            .field("token_ratio", &(self.ratio_milli as f32 / MILLI as f32))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_drain_to_half_and_successes_refill() {
        let budget = RetryBudget::new(10, 0.5);
        assert!(budget.allows_retry());
        for _ in 0..4 {
            budget.record_failure();
        }
        assert_eq!(budget.tokens(), 6.0);
        assert!(budget.allows_retry());
        budget.record_failure();
        assert_eq!(budget.tokens(), 5.0);
        assert!(!budget.allows_retry(), "exactly half is not above half");
        budget.record_success();
        assert_eq!(budget.tokens(), 5.5);
        assert!(budget.allows_retry());
        for _ in 0..20 {
            budget.record_success();
        }
        assert_eq!(budget.tokens(), 10.0, "never above max_tokens");
        for _ in 0..30 {
            budget.record_failure();
        }
        assert_eq!(budget.tokens(), 0.0, "never below zero");
    }

    #[test]
    fn ratios_are_exact_to_three_decimals_and_odd_inputs_are_tamed() {
        let budget = RetryBudget::new(2, 0.125);
        budget.record_failure();
        budget.record_success();
        assert_eq!(budget.tokens(), 1.125);
        let never_refills = RetryBudget::new(3, f32::NAN);
        never_refills.record_failure();
        never_refills.record_success();
        assert_eq!(never_refills.tokens(), 2.0);
        assert_eq!(RetryBudget::new(0, 1.0).max_tokens(), 1.0);
        assert_eq!(RetryBudget::new(2, -0.5).ratio_milli, 0);
    }

    #[test]
    fn every_three_decimal_ratio_up_to_100_is_kept_exactly() {
        for thousandths in 0..=100_000u32 {
            let ratio = thousandths as f32 / 1000.0;
            assert_eq!(
                RetryBudget::new(2, ratio).ratio_milli,
                thousandths,
                "RetryBudget::new(2, {ratio})"
            );
        }
        let budget = RetryBudget::new(2, 0.251);
        budget.record_failure();
        budget.record_success();
        assert_eq!(budget.tokens(), 1.251);
    }
}
