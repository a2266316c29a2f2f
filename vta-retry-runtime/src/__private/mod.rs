//! What `#[vta_retry]` expands to calls. Not a public API: it changes with the macro, which the
//! runtime pins to the exact same release.
//!
//! The engine both forms run on is `crate::engine`, re-exported here for the expansion; what
//! lives here are the expansion's own tools: autoref probes that ask the compiler what a type
//! can do (`probes.rs`), and checks with messages of their own (`checks.rs`).

mod checks;
mod probes;

pub use checks::{
    AttemptsInteger, FreshArgument, FromTimedOut, PolicyMayCut, attempts_from_const,
    attempts_must_be_an_integer, fresh_argument, timed_out_error,
};
pub use probes::{
    AsWritten, CannotConvertTimedOut, ConvertsTimedOut, DescribeByDebug, DescribeByDisplay,
    DescribeByTypeName, DescribeProbe, FunctionAsWritten, HintProbe, HintsByType,
    KeyFollowsTheName, KeyNotInvolved, KeyProbe, NoHints, NotVtaError, OnRetryByValue,
    OnRetryFunction, OnRetryTakesErrorByValue, RetryIfByValue, RetryIfFunction,
    RetryIfTakesErrorByValue, SignatureProbe, TimeoutConversion, VtaErrorByAnotherName, describer,
    hints, key_by_name, key_follows_the_name, on_retry_function, retry_if_function, series,
    timeout_converter,
};

#[cfg(feature = "vta-sdk")]
pub use probes::KeyHiddenByName;

pub use crate::engine::{
    Attempt, ByDebug, ByDisplay, ByTypeName, Call, ClockFor, ClockIf, ClockUnlessTraced, Describe,
    Function, HintByType, InPlace, Limited, NoClock, NoHint, Pause, ReadHint, Reading,
    RetryOutcome, Series, SeriesKeys, SeriesLabels, StartTime, Started, ToError, Unlimited,
    after_attempt, after_attempt_if, clock_needed, no_hook, pause,
};
pub use crate::policy::{Backoff, Jitter, Policy};
pub use crate::vta_key::{hold as hold_vta_key, vta_key_needs_vta_sdk};
pub use crate::{RetryBudget, RetryEvent, TimedOut};

/// Whether each attempt's start is kept, to time it (feature `metrics`): 16 bytes more in the
/// call's state, which the benchmarks' size check allows for.
pub const TIMES_ATTEMPTS: bool = cfg!(feature = "metrics");
