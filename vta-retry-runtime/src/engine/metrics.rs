//! Feature `metrics`: every attempt and every call counted, every attempt timed, and a budget's
//! tokens as a gauge, through the `metrics` facade; without the feature, nothing at all.
//!
//! | series | kind | labels |
//! |---|---|---|
//! | `vta_retry_attempts_total` | counter | `function`, `outcome`: `ok`, `transient`, `permanent`, `timed_out` |
//! | `vta_retry_calls_total` | counter | `function`, `result`: `ok` or why it gave up ([`GiveUp`]) |
//! | `vta_retry_attempt_duration_seconds` | histogram | `function`, `outcome` |
//! | `vta_retry_budget_tokens` | gauge | `budget` |
//!
//! A call made inside another's attempt is counted by its owner, not again; under vta-sdk's
//! `idempotent`, which reports nothing, each one-attempt call counts itself. The attribute's keys
//! are built and hashed at compile time, `static`s per function, so a call allocates and hashes
//! nothing to report; the function form's label is a value, copied into keys built per report.

use std::time::Duration;

use crate::RetryBudget;
use crate::policy::GiveUp;

/// How an attempt ended. In the order of the `outcome` labels (`OUTCOME_LABELS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    Ok,
    Transient,
    Permanent,
    TimedOut,
}

/// Where the call is after an attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallIs {
    /// It makes another attempt.
    Continuing,
    /// It returns: `None` on success, else why it gave up.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    Ended(Option<GiveUp>),
}

#[cfg(feature = "metrics")]
mod on {
    use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, Unit, with_recorder};

    use super::{AttemptOutcome, CallIs, Duration, RetryBudget};
    use crate::policy::GiveUp;

    const ATTEMPTS: &str = "vta_retry_attempts_total";
    const CALLS: &str = "vta_retry_calls_total";
    const DURATION: &str = "vta_retry_attempt_duration_seconds";
    const BUDGET_TOKENS: &str = "vta_retry_budget_tokens";

    static METADATA: Metadata<'static> =
        Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

    /// The `outcome` label of each [`AttemptOutcome`], in its order.
    const OUTCOME_LABELS: [&str; 4] = ["ok", "transient", "permanent", "timed_out"];

    /// The `result` label of each way a call ends, at its [`result_index`].
    const RESULT_LABELS: [&str; 6] = [
        "ok",
        "permanent",
        "attempts_exhausted",
        "hint_too_long",
        "deadline",
        "budget_exhausted",
    ];

    /// The labels of one annotated function's series, built at compile time: a `static` the
    /// expansion writes per function.
    #[derive(Debug)]
    pub struct SeriesLabels {
        attempts: [[Label; 2]; 4],
        calls: [[Label; 2]; 6],
    }

    impl SeriesLabels {
        /// The labels of the function `function`.
        pub const fn new(function: &'static str) -> Self {
            // Written out: a `const fn` cannot assign into an array of values with destructors.
            Self {
                attempts: [
                    attempt_labels(function, 0),
                    attempt_labels(function, 1),
                    attempt_labels(function, 2),
                    attempt_labels(function, 3),
                ],
                calls: [
                    call_labels(function, 0),
                    call_labels(function, 1),
                    call_labels(function, 2),
                    call_labels(function, 3),
                    call_labels(function, 4),
                    call_labels(function, 5),
                ],
            }
        }
    }

    /// The keys of one annotated function's series, hashed at compile time: a `static` the
    /// expansion writes per function, beside its [`SeriesLabels`].
    #[derive(Debug)]
    pub struct SeriesKeys {
        attempts: [Key; 4],
        durations: [Key; 4],
        calls: [Key; 6],
    }

    impl SeriesKeys {
        /// The keys of the series labelled by `labels`.
        pub const fn new(labels: &'static SeriesLabels) -> Self {
            let attempts = &labels.attempts;
            let calls = &labels.calls;
            Self {
                attempts: [
                    Key::from_static_parts(ATTEMPTS, &attempts[0]),
                    Key::from_static_parts(ATTEMPTS, &attempts[1]),
                    Key::from_static_parts(ATTEMPTS, &attempts[2]),
                    Key::from_static_parts(ATTEMPTS, &attempts[3]),
                ],
                durations: [
                    Key::from_static_parts(DURATION, &attempts[0]),
                    Key::from_static_parts(DURATION, &attempts[1]),
                    Key::from_static_parts(DURATION, &attempts[2]),
                    Key::from_static_parts(DURATION, &attempts[3]),
                ],
                calls: [
                    Key::from_static_parts(CALLS, &calls[0]),
                    Key::from_static_parts(CALLS, &calls[1]),
                    Key::from_static_parts(CALLS, &calls[2]),
                    Key::from_static_parts(CALLS, &calls[3]),
                    Key::from_static_parts(CALLS, &calls[4]),
                    Key::from_static_parts(CALLS, &calls[5]),
                ],
            }
        }
    }

    /// The labels of `function`'s attempts with the `i`th outcome.
    const fn attempt_labels(function: &'static str, i: usize) -> [Label; 2] {
        [
            Label::from_static_parts("function", function),
            Label::from_static_parts("outcome", OUTCOME_LABELS[i]),
        ]
    }

    /// The labels of `function`'s calls with the `i`th result.
    const fn call_labels(function: &'static str, i: usize) -> [Label; 2] {
        [
            Label::from_static_parts("function", function),
            Label::from_static_parts("result", RESULT_LABELS[i]),
        ]
    }

    /// Whose series a call reports under: an annotated function's, whose keys were built and
    /// hashed at compile time, or the function form's label, copied into keys built per report.
    #[derive(Debug, Clone, Copy)]
    pub enum Series<'a> {
        /// An annotated function's.
        Static(&'static SeriesKeys),
        /// The function form's.
        Labelled(&'a str),
    }

    /// The place of how a call ended among [`RESULT_LABELS`] (and its keys): `None` on success,
    /// else why it gave up.
    const fn result_index(gave_up: Option<GiveUp>) -> usize {
        match gave_up {
            None => 0,
            Some(GiveUp::Permanent) => 1,
            Some(GiveUp::AttemptsExhausted) => 2,
            Some(GiveUp::HintTooLong(_)) => 3,
            Some(GiveUp::Deadline) => 4,
            Some(GiveUp::BudgetExhausted) => 5,
        }
    }

    /// A key built for one report, from the function form's label.
    fn labelled_key(
        name: &'static str,
        label: &str,
        key: &'static str,
        value: &'static str,
    ) -> Key {
        Key::from_parts(
            name,
            vec![
                Label::new("function", label.to_owned()),
                Label::from_static_parts(key, value),
            ],
        )
    }

    impl<'a> Series<'a> {
        /// An annotated function's series.
        pub const fn of(keys: &'static SeriesKeys) -> Self {
            Self::Static(keys)
        }

        /// The function form's series, labelled `label`.
        pub const fn labelled(label: &'a str) -> Self {
            Self::Labelled(label)
        }

        /// One attempt ended with `outcome`, after `duration`.
        fn attempt(self, recorder: &dyn Recorder, outcome: AttemptOutcome, duration: Duration) {
            let (counted, timed) = match self {
                Self::Static(keys) => (
                    &keys.attempts[outcome as usize],
                    &keys.durations[outcome as usize],
                ),
                Self::Labelled(label) => {
                    let counted =
                        labelled_key(ATTEMPTS, label, "outcome", OUTCOME_LABELS[outcome as usize]);
                    let timed =
                        labelled_key(DURATION, label, "outcome", OUTCOME_LABELS[outcome as usize]);
                    return Self::attempt_under(recorder, &counted, &timed, duration);
                }
            };
            Self::attempt_under(recorder, counted, timed, duration);
        }

        fn attempt_under(recorder: &dyn Recorder, counted: &Key, timed: &Key, duration: Duration) {
            recorder.register_counter(counted, &METADATA).increment(1);
            recorder
                .register_histogram(timed, &METADATA)
                .record(duration.as_secs_f64());
        }

        /// The call ended: `gave_up` says why, `None` on success.
        fn call(self, recorder: &dyn Recorder, gave_up: Option<GiveUp>) {
            match self {
                Self::Static(keys) => {
                    let key = &keys.calls[result_index(gave_up)];
                    recorder.register_counter(key, &METADATA).increment(1);
                }
                Self::Labelled(label) => {
                    let key =
                        labelled_key(CALLS, label, "result", RESULT_LABELS[result_index(gave_up)]);
                    recorder.register_counter(&key, &METADATA).increment(1);
                }
            }
        }
    }

    /// One attempt ended with `outcome`, after `duration`; and the call, if it ended with it. One
    /// visit to the recorder for both.
    pub(crate) fn attempt_ended(
        series: Series<'_>,
        outcome: AttemptOutcome,
        duration: Duration,
        call: CallIs,
    ) {
        with_recorder(|recorder| {
            series.attempt(recorder, outcome, duration);
            if let CallIs::Ended(gave_up) = call {
                series.call(recorder, gave_up);
            }
        });
    }

    /// Describes the four series to the recorder installed now: their units, and the help text an
    /// exporter shows (Prometheus's `# HELP`). Call it once, after installing the recorder;
    /// without it, the series are reported all the same.
    ///
    /// | series | kind | labels |
    /// |---|---|---|
    /// | `vta_retry_attempts_total` | counter | `function`, `outcome`: `ok`, `transient`, `permanent`, `timed_out` |
    /// | `vta_retry_calls_total` | counter | `function`, `result`: `ok`, or why it gave up: `permanent`, `attempts_exhausted`, `hint_too_long`, `deadline`, `budget_exhausted` |
    /// | `vta_retry_attempt_duration_seconds` | histogram | `function`, `outcome` |
    /// | `vta_retry_budget_tokens` | gauge | `budget`: the path `budget = PATH` names |
    ///
    /// `function` is the annotated function's name, or the function form's label. A call made
    /// inside another's attempt makes one attempt for its owner to retry, and is counted by its
    /// owner alone; inside vta-sdk's `VtaClient::idempotent`, which reports nothing, each call
    /// makes one attempt and counts itself. A gauge is set when its budget's count changes.
    ///
    /// ```
    /// let recorder = metrics_util::debugging::DebuggingRecorder::new();
    /// metrics::with_local_recorder(&recorder, vta_retry_runtime::describe_metrics);
    /// ```
    pub fn describe_metrics() {
        with_recorder(|recorder| {
            recorder.describe_counter(
                KeyName::from_const_str(ATTEMPTS),
                Some(Unit::Count),
                "Attempts made by retried calls, by function and outcome.".into(),
            );
            recorder.describe_counter(
                KeyName::from_const_str(CALLS),
                Some(Unit::Count),
                "Retried calls ended, by function and result: ok, or why they gave up.".into(),
            );
            recorder.describe_histogram(
                KeyName::from_const_str(DURATION),
                Some(Unit::Seconds),
                "How long each attempt ran, by function and outcome.".into(),
            );
            recorder.describe_gauge(
                KeyName::from_const_str(BUDGET_TOKENS),
                Some(Unit::Count),
                "Tokens left in a retry budget: retries stop at half of its maximum.".into(),
            );
        });
    }

    /// A budget's tokens changed.
    pub(crate) fn budget(name: &'static str, budget: &RetryBudget) {
        let key = Key::from_parts(
            KeyName::from_const_str(BUDGET_TOKENS),
            vec![Label::from_static_parts("budget", name)],
        );
        with_recorder(|recorder| {
            recorder
                .register_gauge(&key, &METADATA)
                .set(budget.tokens_f64());
        });
    }
}

#[cfg(not(feature = "metrics"))]
mod off {
    use std::marker::PhantomData;

    use super::{AttemptOutcome, CallIs, Duration, RetryBudget};

    /// Without feature `metrics`: nothing.
    #[derive(Debug)]
    pub struct SeriesLabels;

    impl SeriesLabels {
        /// Nothing.
        pub const fn new(_: &'static str) -> Self {
            Self
        }
    }

    /// Without feature `metrics`: nothing.
    #[derive(Debug)]
    pub struct SeriesKeys;

    impl SeriesKeys {
        /// Nothing.
        pub const fn new(_: &'static SeriesLabels) -> Self {
            Self
        }
    }

    /// Without feature `metrics`: nothing.
    #[derive(Debug, Clone, Copy)]
    pub struct Series<'a>(PhantomData<&'a ()>);

    impl<'a> Series<'a> {
        /// Nothing.
        pub const fn of(_: &'static SeriesKeys) -> Self {
            Self(PhantomData)
        }

        /// Nothing.
        pub const fn labelled(_: &'a str) -> Self {
            Self(PhantomData)
        }
    }

    #[inline]
    pub(crate) fn attempt_ended(_: Series<'_>, _: AttemptOutcome, _: Duration, _: CallIs) {}

    #[inline]
    pub(crate) fn budget(_: &'static str, _: &RetryBudget) {}
}

#[cfg(not(feature = "metrics"))]
pub use off::{Series, SeriesKeys, SeriesLabels};
#[cfg(not(feature = "metrics"))]
pub(crate) use off::{attempt_ended, budget};
#[cfg(feature = "metrics")]
pub use on::{Series, SeriesKeys, SeriesLabels, describe_metrics};
#[cfg(feature = "metrics")]
pub(crate) use on::{attempt_ended, budget};
