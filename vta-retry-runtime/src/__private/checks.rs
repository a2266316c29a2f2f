//! Checks the expansion writes where the user's types are known, each with the message that
//! explains it: a timeout's conversion, a `mut` argument's `Clone`, an `attempts = CONST`.

use crate::TimedOut;
use crate::engine::{RetryOutcome, ToError};

// ---- A cut attempt becomes the function's error ----

/// `E::from`, as the converter `Attempt::limited` takes: the attribute's `timeout` key checks
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

/// `E::from`, as the function form's [`Policy::retry`](crate::Policy::retry) asks it: the policy is a value, and may
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
