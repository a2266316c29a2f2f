//! The engine both forms run on: the attribute's expansion calls it, and the function form
//! ([`Policy::retry`](crate::Policy::retry)) is a state machine around it.
//!
//! ```text
//! one call    Call::start ──▶ loop { attempt ──▶ after the attempt ──▶ wait }
//!             call.rs         attempt.rs         decide.rs              wait.rs
//! ```
//!
//! - [`Call`] is the state that lives across one call's attempts: the attempt number, whether
//!   the call owns retry (it does unless it started inside another call's attempt), its serial
//!   number once its context is read, and its clock, only where a deadline, a timeout or a
//!   report needs one ([`NoClock`], [`Started`]).
//! - [`Attempt`] runs one attempt's future with its context published around each poll, cut
//!   short by the timeout or the deadline ([`Limited`]); [`InPlace`] publishes the context around
//!   a body that cannot suspend, run in place.
//! - [`after_attempt`] asks [`Policy::decide`](crate::Policy::decide) what to do after an attempt
//!   failed, and reports a retry or giving up (`report.rs`, feature `tracing`); on success it only
//!   refills a budget, when there is one.
//! - [`pause`] is the wait between attempts, a zero wait included ([`sleep`] and
//!   [`must_wait`] for the function form's state machine).
//!
//! Every function takes the policy by reference: in the expansion it is a constant promoted to a
//! `static`, so that nothing copies it and the compiler sees its every field.

mod attempt;
mod call;
mod decide;
mod metrics;
mod outcome;
mod report;
mod wait;

pub use attempt::{Attempt, AttemptBounds, InPlace, Limited, ToError, Unlimited};
pub use call::{
    Call, ClockFor, ClockIf, ClockUnlessTraced, NoClock, OnDemand, StartTime, Started, clock_needed,
};
pub use decide::{
    Function, HintByType, NoHint, ReadHint, Reading, after_attempt, after_attempt_if, no_hook,
};
pub(crate) use metrics::budget as report_budget;
#[cfg(feature = "metrics")]
pub use metrics::describe_metrics;
pub use metrics::{Series, SeriesKeys, SeriesLabels};
pub use outcome::RetryOutcome;
pub use report::{ByDebug, ByDisplay, ByTypeName, Describe};
pub(crate) use wait::poll_breathe;
pub use wait::{Pause, must_wait, pause, sleep};
