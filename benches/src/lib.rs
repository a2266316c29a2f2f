//! The variants that the benchmarks, the allocation test and the `report` example compare.
//!
//! Every variant is an `async fn(x: u64) -> Result<u64, BenchError>` around a cheap body whose
//! failure is decided at run time: it reads [`FAIL`], a `static` the compiler cannot see
//! through, so no variant's retry path can be proven dead and deleted. In the success-path
//! groups `FAIL` is false, so every call succeeds at once; what is measured is what the retry
//! wrapper costs around a body that could have failed.
//!
//! The success path, a module per body shape ([`SHAPES`]), each with the variants of
//! [`VARIANTS`] (and, where it says so, [`PEERS`]); the policy is 3 attempts, waiting 500 ms
//! then 1 s:
//!
//! - [`early_return`]: `if fails() { return Err(..) } Ok(..)`: leaves early, does not await;
//! - [`expression`]: `if fails() { Err(..) } else { Ok(..) }`: neither leaves early nor awaits;
//! - [`awaiting`]: `let v = fetch(x).await?; Ok(v + 1)`, `fetch` ready at once: a real call's
//!   shape;
//! - [`suspending`]: as [`awaiting`], after suspending once (the task is woken and polled
//!   again), as an attempt that does I/O does.
//!
//! Beside the careful hand-written loop, each shape has one that also keeps a call context of its
//! own (`hand_written_context`): the attempt number where the code the body calls can read it,
//! and one attempt, not a loop, inside another loop's attempt. That is what `#[vta_retry]`'s
//! context gives (with a key per call besides), written the way a careful person would: a
//! thread-local around a body that cannot suspend, tokio's `task_local!` around one that awaits.
//!
//! The retry path: [`retry`] (one transient failure, a zero wait, success) and [`retry_timer`]
//! (the same through tokio's timer, on the paused clock), with every variant of [`ALL`].

use std::cell::Cell;
use std::hint::black_box;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use vta_retry_runtime::Retryable;

#[cfg(feature = "metrics")]
pub mod recorders;

/// The body shapes of the success path, in the order of the report's tables.
pub const SHAPES: [&str; 4] = ["early_return", "expression", "awaiting", "suspending"];

/// The variants every shape has.
pub const VARIANTS: [&str; 5] = [
    "plain",
    "hand_written",
    "vta_retry",
    "vta_retry_every_key",
    "hand_written_context",
];

/// The peers, on the shapes that have them ([`early_return`] and [`awaiting`]).
pub const PEERS: [&str; 3] = ["backon", "backon_attr", "tokio_retry2"];

/// The retry path's variants, in the order of the report's rows.
pub const ALL: [&str; 6] = [
    "plain",
    "hand_written",
    "vta_retry",
    "backon",
    "backon_attr",
    "tokio_retry2",
];

/// Whether the body fails. False in every success-path measurement; read at run time.
pub static FAIL: AtomicBool = AtomicBool::new(false);

/// Whether this call of the body fails: [`FAIL`], read so that the optimizer cannot know.
#[inline(always)]
pub fn fails() -> bool {
    black_box(FAIL.load(Ordering::Relaxed))
}

/// The first wait of the success-path policy.
pub const FIRST_WAIT: Duration = Duration::from_millis(500);
/// The longest wait of the success-path policy.
pub const MAX_WAIT: Duration = Duration::from_secs(1);
/// Calls in total, the first included.
pub const ATTEMPTS: u32 = 3;

/// The body's error. Classifies itself through [`Retryable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchError {
    /// Worth another attempt.
    Transient,
    /// Not worth another attempt.
    Permanent,
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        })
    }
}

impl std::error::Error for BenchError {}

impl Retryable for BenchError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Transient)
    }
}

/// A cut attempt is worth another: needed by `timeout`.
impl From<vta_retry_runtime::TimedOut> for BenchError {
    fn from(_: vta_retry_runtime::TimedOut) -> Self {
        Self::Transient
    }
}

/// `Retryable::is_transient` as a function: the classifier backon and `#[backon]` take.
pub fn is_transient(error: &BenchError) -> bool {
    error.is_transient()
}

/// The classification tokio-retry2 wants: the error wrapped as transient or permanent.
pub fn classify(error: BenchError) -> tokio_retry2::RetryError<BenchError> {
    if error.is_transient() {
        tokio_retry2::RetryError::transient(error)
    } else {
        tokio_retry2::RetryError::permanent(error)
    }
}

/// The body of the retry path: fails with a transient error on the first attempt of a call (when
/// `calls` is 0), succeeds on every later one. `calls` counts the attempts.
#[inline(always)]
pub fn flaky(x: u64, calls: &Cell<u32>) -> Result<u64, BenchError> {
    let call = calls.get();
    calls.set(call + 1);
    if black_box(call) == 0 {
        Err(BenchError::Transient)
    } else {
        Ok(black_box(black_box(x) + 1))
    }
}

/// The team-wide policy the every-key variants start from.
pub const BASE_POLICY: vta_retry_runtime::Policy = vta_retry_runtime::Policy::DEFAULT;

/// The retry budget the every-key variants share: on the success path, each call refills it.
pub static BUDGET: vta_retry_runtime::RetryBudget = vta_retry_runtime::RetryBudget::new(100, 0.1);

/// The every-key variants' hook: never called on the success path.
pub fn on_retry(error: &BenchError, event: &vta_retry_runtime::RetryEvent) {
    black_box((error, event.attempt()));
}

/// The call the awaiting shapes make: ready at once, failing when [`fails`] says so.
#[inline]
pub async fn fetch(x: u64) -> Result<u64, BenchError> {
    if fails() {
        return Err(BenchError::Transient);
    }
    Ok(black_box(x))
}

/// A future that returns `Pending` once, waking its task, then `Ready`: one suspension, as an
/// attempt that waits on I/O makes.
#[derive(Debug, Default)]
pub struct SuspendOnce(bool);

impl Future for SuspendOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

thread_local! {
    /// The hand-written loops' call context, for a body that cannot suspend: the attempt running
    /// on this thread, 0 outside one.
    static ATTEMPT: Cell<u32> = const { Cell::new(0) };
}

tokio::task_local! {
    /// The hand-written loops' call context, for a body that awaits: the attempt running on this
    /// task, set around each poll of the body by tokio.
    static TASK_ATTEMPT: u32;
}

/// Runs `body` as attempt `attempt` with [`ATTEMPT`] set around it, as a hand-written loop that
/// keeps a context for the code it calls would: unless another loop's attempt is running, under
/// which it runs as it is. Returns the outcome and whether it ran nested.
#[inline(always)]
fn with_attempt<T>(attempt: u32, body: impl FnOnce() -> T) -> (T, bool) {
    let outer = ATTEMPT.get();
    ATTEMPT.set(if outer == 0 { attempt } else { outer });
    let outcome = body();
    ATTEMPT.set(outer);
    (outcome, outer != 0)
}

/// Whether a hand-written loop on this task runs inside another's attempt, by [`TASK_ATTEMPT`].
fn task_nested() -> bool {
    TASK_ATTEMPT.try_with(|_| ()).is_ok()
}

/// `if fails() { return Err(..) } Ok(..)`: a body that can leave early and does not await.
pub mod early_return {
    use std::hint::black_box;

    use backon::{ExponentialBuilder, Retryable as _};
    use backon_macros::backon;
    use tokio_retry2::strategy::ExponentialFactorBackoff;
    use vta_retry_runtime::Retryable as _;

    use super::{
        ATTEMPTS, BenchError, FIRST_WAIT, MAX_WAIT, classify, fails, is_transient, with_attempt,
    };

    /// The limit: the body as a plain `async fn`, with no retry at all.
    pub async fn plain(x: u64) -> Result<u64, BenchError> {
        if fails() {
            return Err(BenchError::Transient);
        }
        Ok(black_box(x) + 1)
    }

    /// The loop a careful person writes by hand: the body inlined, its early return turned into
    /// the outcome, the error classified, each arm returning its own value.
    pub async fn hand_written(x: u64) -> Result<u64, BenchError> {
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        loop {
            if fails() {
                let error = BenchError::Transient;
                if error.is_transient() && attempt < ATTEMPTS {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    attempt += 1;
                    continue;
                }
                return Err(error);
            }
            return Ok(black_box(x) + 1);
        }
    }

    /// The careful loop with a context of its own, for the code the body calls: the attempt
    /// number in a thread-local around the body, and inside another loop's attempt, one attempt.
    /// (No key per call, which `#[vta_retry]` also gives.)
    pub async fn hand_written_context(x: u64) -> Result<u64, BenchError> {
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        loop {
            let (outcome, nested) = with_attempt(attempt, || {
                if fails() {
                    return Err(BenchError::Transient);
                }
                Ok(black_box(x) + 1)
            });
            match outcome {
                Ok(value) => return Ok(value),
                Err(error) if !nested && error.is_transient() && attempt < ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `#[vta_retry]` on the body as written.
    #[vta_retry_runtime::vta_retry(attempts = 3, backoff = "500ms..1s")]
    pub async fn vta_retry(x: u64) -> Result<u64, BenchError> {
        if fails() {
            return Err(BenchError::Transient);
        }
        Ok(black_box(x) + 1)
    }

    /// `#[vta_retry]` with every key set: what a production policy adds.
    #[vta_retry_runtime::vta_retry(
        policy = super::BASE_POLICY,
        attempts = 3,
        backoff = "500ms..1s",
        jitter = "full",
        timeout = "5s",
        max_elapsed = "10s",
        max_hint = "30s",
        retry_if = is_transient,
        on_retry = super::on_retry,
        budget = super::BUDGET
    )]
    pub async fn vta_retry_every_key(x: u64) -> Result<u64, BenchError> {
        if fails() {
            return Err(BenchError::Transient);
        }
        Ok(black_box(x) + 1)
    }

    /// backon's policy: 2 retries after the first call, 500 ms doubling up to 1 s, no jitter.
    pub fn backon_policy() -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(FIRST_WAIT)
            .with_max_delay(MAX_WAIT)
            .with_factor(2.0)
            .with_max_times(ATTEMPTS as usize - 1)
    }

    /// backon's builder: `(|| async { .. }).retry(..).when(..)`.
    pub async fn backon(x: u64) -> Result<u64, BenchError> {
        (|| async move {
            if fails() {
                return Err(BenchError::Transient);
            }
            Ok(black_box(x) + 1)
        })
        .retry(backon_policy())
        .when(is_transient)
        .await
    }

    /// backon's `#[backon]` attribute, with the same policy and classifier.
    #[backon(backoff = backon_policy, when = is_transient)]
    pub async fn backon_attr(x: u64) -> Result<u64, BenchError> {
        if fails() {
            return Err(BenchError::Transient);
        }
        Ok(black_box(x) + 1)
    }

    /// tokio-retry2's `Retry::spawn`, 500 ms doubling up to 1 s, 2 retries.
    pub async fn tokio_retry2(x: u64) -> Result<u64, BenchError> {
        let strategy = ExponentialFactorBackoff::from_millis(500, 2.0)
            .max_delay(MAX_WAIT)
            .take(ATTEMPTS as usize - 1);
        tokio_retry2::Retry::spawn(strategy, || async move {
            if fails() {
                return Err(classify(BenchError::Transient));
            }
            Ok(black_box(x) + 1)
        })
        .await
    }
}

/// `if fails() { Err(..) } else { Ok(..) }`: a body that neither leaves early nor awaits.
pub mod expression {
    use std::hint::black_box;

    use vta_retry_runtime::Retryable as _;

    use super::{ATTEMPTS, BenchError, FIRST_WAIT, MAX_WAIT, fails, is_transient, with_attempt};

    /// The limit.
    pub async fn plain(x: u64) -> Result<u64, BenchError> {
        if fails() {
            Err(BenchError::Transient)
        } else {
            Ok(black_box(x) + 1)
        }
    }

    /// The careful hand-written loop.
    pub async fn hand_written(x: u64) -> Result<u64, BenchError> {
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        loop {
            let outcome = if fails() {
                Err(BenchError::Transient)
            } else {
                Ok(black_box(x) + 1)
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The careful loop with a context of its own.
    pub async fn hand_written_context(x: u64) -> Result<u64, BenchError> {
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        loop {
            let (outcome, nested) = with_attempt(attempt, || {
                if fails() {
                    Err(BenchError::Transient)
                } else {
                    Ok(black_box(x) + 1)
                }
            });
            match outcome {
                Ok(value) => return Ok(value),
                Err(error) if !nested && error.is_transient() && attempt < ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `#[vta_retry]`.
    #[vta_retry_runtime::vta_retry(attempts = 3, backoff = "500ms..1s")]
    pub async fn vta_retry(x: u64) -> Result<u64, BenchError> {
        if fails() {
            Err(BenchError::Transient)
        } else {
            Ok(black_box(x) + 1)
        }
    }

    /// `#[vta_retry]` with every key set.
    #[vta_retry_runtime::vta_retry(
        policy = super::BASE_POLICY,
        attempts = 3,
        backoff = "500ms..1s",
        jitter = "full",
        timeout = "5s",
        max_elapsed = "10s",
        max_hint = "30s",
        retry_if = is_transient,
        on_retry = super::on_retry,
        budget = super::BUDGET
    )]
    pub async fn vta_retry_every_key(x: u64) -> Result<u64, BenchError> {
        if fails() {
            Err(BenchError::Transient)
        } else {
            Ok(black_box(x) + 1)
        }
    }

    /// `#[vta_retry]` on the same body, its condition read through a macro (`matches!`), which
    /// may hide an `.await`: the attribute runs it as a future of its own instead of in place.
    /// Against [`vta_retry`], what running in place saves.
    #[allow(clippy::redundant_pattern_matching)] // the macro call is the point
    #[vta_retry_runtime::vta_retry(attempts = 3, backoff = "500ms..1s")]
    pub async fn vta_retry_as_future(x: u64) -> Result<u64, BenchError> {
        if matches!(fails(), true) {
            Err(BenchError::Transient)
        } else {
            Ok(black_box(x) + 1)
        }
    }
}

/// `let v = fetch(x).await?; Ok(v + 1)`: a real call's shape; `fetch` is ready at once.
pub mod awaiting {
    use std::hint::black_box;

    use backon::Retryable as _;
    use backon_macros::backon;
    use tokio_retry2::strategy::ExponentialFactorBackoff;
    use vta_retry_runtime::Retryable as _;

    use super::early_return::backon_policy;
    use super::{
        ATTEMPTS, BenchError, FIRST_WAIT, MAX_WAIT, TASK_ATTEMPT, classify, fetch, is_transient,
        task_nested,
    };

    /// The limit.
    pub async fn plain(x: u64) -> Result<u64, BenchError> {
        let value = fetch(x).await?;
        Ok(black_box(value) + 1)
    }

    /// The careful hand-written loop: the body rewritten to `match` on the awaited result.
    pub async fn hand_written(x: u64) -> Result<u64, BenchError> {
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        loop {
            match fetch(x).await {
                Ok(value) => return Ok(black_box(value) + 1),
                Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The careful loop with a context of its own, for the code the body awaits: the attempt
    /// number in a tokio `task_local!`, set around each poll of the body, and inside another
    /// loop's attempt, one attempt. (No key per call, which `#[vta_retry]` also gives.)
    pub async fn hand_written_context(x: u64) -> Result<u64, BenchError> {
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        let nested = task_nested();
        loop {
            match TASK_ATTEMPT.scope(attempt, fetch(x)).await {
                Ok(value) => return Ok(black_box(value) + 1),
                Err(error) if !nested && error.is_transient() && attempt < ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `#[vta_retry]` on the body as written.
    #[vta_retry_runtime::vta_retry(attempts = 3, backoff = "500ms..1s")]
    pub async fn vta_retry(x: u64) -> Result<u64, BenchError> {
        let value = fetch(x).await?;
        Ok(black_box(value) + 1)
    }

    /// `#[vta_retry]` with every key set.
    #[vta_retry_runtime::vta_retry(
        policy = super::BASE_POLICY,
        attempts = 3,
        backoff = "500ms..1s",
        jitter = "full",
        timeout = "5s",
        max_elapsed = "10s",
        max_hint = "30s",
        retry_if = is_transient,
        on_retry = super::on_retry,
        budget = super::BUDGET
    )]
    pub async fn vta_retry_every_key(x: u64) -> Result<u64, BenchError> {
        let value = fetch(x).await?;
        Ok(black_box(value) + 1)
    }

    /// backon's builder.
    pub async fn backon(x: u64) -> Result<u64, BenchError> {
        (|| async move {
            let value = fetch(x).await?;
            Ok(black_box(value) + 1)
        })
        .retry(backon_policy())
        .when(is_transient)
        .await
    }

    /// backon's `#[backon]` attribute.
    #[backon(backoff = backon_policy, when = is_transient)]
    pub async fn backon_attr(x: u64) -> Result<u64, BenchError> {
        let value = fetch(x).await?;
        Ok(black_box(value) + 1)
    }

    /// tokio-retry2.
    pub async fn tokio_retry2(x: u64) -> Result<u64, BenchError> {
        let strategy = ExponentialFactorBackoff::from_millis(500, 2.0)
            .max_delay(MAX_WAIT)
            .take(ATTEMPTS as usize - 1);
        tokio_retry2::Retry::spawn(strategy, || async move {
            let value = fetch(x).await.map_err(classify)?;
            Ok(black_box(value) + 1)
        })
        .await
    }
}

/// As [`awaiting`], after suspending once: the task is woken and polled again.
pub mod suspending {
    use std::hint::black_box;

    use vta_retry_runtime::Retryable as _;

    use super::{
        ATTEMPTS, BenchError, FIRST_WAIT, MAX_WAIT, SuspendOnce, TASK_ATTEMPT, fetch, is_transient,
        task_nested,
    };

    /// The limit.
    pub async fn plain(x: u64) -> Result<u64, BenchError> {
        SuspendOnce::default().await;
        let value = fetch(x).await?;
        Ok(black_box(value) + 1)
    }

    /// The careful hand-written loop.
    pub async fn hand_written(x: u64) -> Result<u64, BenchError> {
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        loop {
            SuspendOnce::default().await;
            match fetch(x).await {
                Ok(value) => return Ok(black_box(value) + 1),
                Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The careful loop with a context of its own.
    pub async fn hand_written_context(x: u64) -> Result<u64, BenchError> {
        let mut wait = FIRST_WAIT;
        let mut attempt = 1;
        let nested = task_nested();
        loop {
            let attempt_future = async {
                SuspendOnce::default().await;
                fetch(x).await
            };
            match TASK_ATTEMPT.scope(attempt, attempt_future).await {
                Ok(value) => return Ok(black_box(value) + 1),
                Err(error) if !nested && error.is_transient() && attempt < ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `#[vta_retry]`.
    #[vta_retry_runtime::vta_retry(attempts = 3, backoff = "500ms..1s")]
    pub async fn vta_retry(x: u64) -> Result<u64, BenchError> {
        SuspendOnce::default().await;
        let value = fetch(x).await?;
        Ok(black_box(value) + 1)
    }

    /// `#[vta_retry]` with every key set: here the timeout's timer is registered, since the
    /// attempt waits.
    #[vta_retry_runtime::vta_retry(
        policy = super::BASE_POLICY,
        attempts = 3,
        backoff = "500ms..1s",
        jitter = "full",
        timeout = "5s",
        max_elapsed = "10s",
        max_hint = "30s",
        retry_if = is_transient,
        on_retry = super::on_retry,
        budget = super::BUDGET
    )]
    pub async fn vta_retry_every_key(x: u64) -> Result<u64, BenchError> {
        SuspendOnce::default().await;
        let value = fetch(x).await?;
        Ok(black_box(value) + 1)
    }
}

/// The retry path's variants, with the wait `$wait` (`"0s"` or `"1ms"`) and the same in
/// milliseconds, `$millis`.
macro_rules! retry_variants {
    ($(#[$doc:meta])* $module:ident, $wait:literal, $millis:literal) => {
        $(#[$doc])*
        pub mod $module {
            use std::cell::Cell;
            use std::time::Duration;

            use backon::{ExponentialBuilder, Retryable as _};
            use backon_macros::backon;
            use tokio_retry2::strategy::ExponentialFactorBackoff;
            use vta_retry_runtime::Retryable as _;

            use super::{ATTEMPTS, BenchError, classify, flaky, is_transient};

            const WAIT: Duration = Duration::from_millis($millis);

            /// The limit: the body called twice, with no retry machinery at all.
            pub async fn plain(x: u64, calls: &Cell<u32>) -> Result<u64, BenchError> {
                match flaky(x, calls) {
                    Err(_) => flaky(x, calls),
                    outcome => outcome,
                }
            }

            /// The hand-written loop. It sleeps as it would for any wait: a loop written by hand
            /// does not special-case zero.
            pub async fn hand_written(x: u64, calls: &Cell<u32>) -> Result<u64, BenchError> {
                let mut attempt = 1;
                let mut wait = WAIT;
                loop {
                    match flaky(x, calls) {
                        Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(WAIT);
                            attempt += 1;
                        }
                        outcome => return outcome,
                    }
                }
            }

            /// `#[vta_retry]`. With a zero wait the runtime skips the timer.
            #[vta_retry_runtime::vta_retry(attempts = 3, backoff = $wait)]
            pub async fn vta_retry(x: u64, calls: &Cell<u32>) -> Result<u64, BenchError> {
                flaky(x, calls)
            }

            /// backon's policy: 2 retries, the same constant wait, no jitter.
            pub fn backon_policy() -> ExponentialBuilder {
                ExponentialBuilder::new()
                    .with_min_delay(WAIT)
                    .with_max_delay(WAIT)
                    .with_factor(2.0)
                    .with_max_times(ATTEMPTS as usize - 1)
            }

            /// backon's builder.
            pub async fn backon(x: u64, calls: &Cell<u32>) -> Result<u64, BenchError> {
                (|| async move { flaky(x, calls) })
                    .retry(backon_policy())
                    .when(is_transient)
                    .await
            }

            /// backon's `#[backon]` attribute.
            #[backon(backoff = backon_policy, when = is_transient)]
            pub async fn backon_attr(x: u64, calls: &Cell<u32>) -> Result<u64, BenchError> {
                flaky(x, calls)
            }

            /// tokio-retry2 with the same constant wait.
            pub async fn tokio_retry2(x: u64, calls: &Cell<u32>) -> Result<u64, BenchError> {
                let strategy = ExponentialFactorBackoff::from_millis($millis, 1.0)
                    .max_delay(WAIT)
                    .take(ATTEMPTS as usize - 1);
                tokio_retry2::Retry::spawn(strategy, || async move {
                    flaky(x, calls).map_err(classify)
                })
                .await
            }
        }
    };
}

retry_variants! {
    /// The retry path: 3 attempts with a zero wait; the body fails once, transiently, then
    /// succeeds. `calls` must be a fresh `Cell::new(0)` for each call.
    retry, "0s", 0
}

retry_variants! {
    /// The retry path with a 1 ms wait, for a runtime on tokio's paused clock
    /// ([`paused_runtime`]): every variant registers and fires a timer,
    /// and the clock advances instead of the machine waiting.
    retry_timer, "1ms", 1
}

/// A current-thread tokio runtime with the timer on: the one every measurement runs on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
}

/// As [`runtime`], with tokio's clock paused: a sleep completes at once by advancing the clock.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// Where criterion writes its results: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else the workspace's `target/criterion`.
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("criterion")
}

/// The time per iteration, in ns, that criterion last measured for `group/variant`, with the
/// bounds of its 95% confidence interval: the estimate criterion prints as `time:` (the slope of
/// its linear fit, or the mean when it sampled flat). `None` before `cargo bench` has run.
pub fn criterion_mean_ns(group: &str, variant: &str) -> Option<(f64, f64, f64)> {
    let path = criterion_dir()
        .join(group)
        .join(variant)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let estimate = if json["slope"].is_object() {
        &json["slope"]
    } else {
        &json["mean"]
    };
    Some((
        estimate["point_estimate"].as_f64()?,
        estimate["confidence_interval"]["lower_bound"].as_f64()?,
        estimate["confidence_interval"]["upper_bound"].as_f64()?,
    ))
}

/// The size in bytes of each variant's unpolled future: the success path's, by shape (in the
/// order of [`SHAPES`], each in the order of [`VARIANTS`]), and the retry path's (in the order
/// of [`ALL`]).
pub fn future_sizes() -> ([[usize; 5]; 4], [usize; 6]) {
    use std::mem::size_of_val;
    macro_rules! shape {
        ($shape:ident) => {
            [
                size_of_val(&$shape::plain(1)),
                size_of_val(&$shape::hand_written(1)),
                size_of_val(&$shape::vta_retry(1)),
                size_of_val(&$shape::vta_retry_every_key(1)),
                size_of_val(&$shape::hand_written_context(1)),
            ]
        };
    }
    let calls = Cell::new(0);
    (
        [
            shape!(early_return),
            shape!(expression),
            shape!(awaiting),
            shape!(suspending),
        ],
        [
            size_of_val(&retry::plain(1, &calls)),
            size_of_val(&retry::hand_written(1, &calls)),
            size_of_val(&retry::vta_retry(1, &calls)),
            size_of_val(&retry::backon(1, &calls)),
            size_of_val(&retry::backon_attr(1, &calls)),
            size_of_val(&retry::tokio_retry2(1, &calls)),
        ],
    )
}

/// Heap allocations per call of `call`, counted by `counter` (which must be the binary's
/// `#[global_allocator]`) over `calls` calls awaited inside one `block_on`, after as many to
/// warm up: tokio allocates its own buffers once, the first time a task yields, which a retry
/// with no wait does once it has spent the cooperative budget. The block_on itself is outside
/// the count.
pub fn allocations_per_call<F, Fut, T>(
    counter: &'static stats_alloc::StatsAlloc<std::alloc::System>,
    rt: &tokio::runtime::Runtime,
    calls: u32,
    mut call: F,
) -> f64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    rt.block_on(async {
        for _ in 0..calls {
            black_box(call().await);
        }
        let region = stats_alloc::Region::new(counter);
        for _ in 0..calls {
            black_box(call().await);
        }
        let change = region.change();
        change.allocations as f64 / f64::from(calls)
    })
}

/// Heap allocations per call of each variant: the success path's, by shape (as
/// [`future_sizes`]), and the zero-wait and timer retry paths' (in the order of [`ALL`]).
/// `counter` must be the binary's `#[global_allocator]`.
pub fn allocations(
    counter: &'static stats_alloc::StatsAlloc<std::alloc::System>,
    calls: u32,
) -> ([[f64; 5]; 4], [(f64, f64); 6]) {
    let rt = runtime();
    let paused = paused_runtime();
    macro_rules! shape {
        ($shape:ident) => {
            [
                allocations_per_call(counter, &rt, calls, || $shape::plain(black_box(1))),
                allocations_per_call(counter, &rt, calls, || $shape::hand_written(black_box(1))),
                allocations_per_call(counter, &rt, calls, || $shape::vta_retry(black_box(1))),
                allocations_per_call(counter, &rt, calls, || {
                    $shape::vta_retry_every_key(black_box(1))
                }),
                allocations_per_call(counter, &rt, calls, || {
                    $shape::hand_written_context(black_box(1))
                }),
            ]
        };
    }
    macro_rules! retrying {
        ($variant:ident) => {
            (
                allocations_per_call(counter, &rt, calls, || async {
                    let calls = Cell::new(0);
                    retry::$variant(black_box(1), &calls).await
                }),
                allocations_per_call(counter, &paused, calls, || async {
                    let calls = Cell::new(0);
                    retry_timer::$variant(black_box(1), &calls).await
                }),
            )
        };
    }
    (
        [
            shape!(early_return),
            shape!(expression),
            shape!(awaiting),
            shape!(suspending),
        ],
        [
            retrying!(plain),
            retrying!(hand_written),
            retrying!(vta_retry),
            retrying!(backon),
            retrying!(backon_attr),
            retrying!(tokio_retry2),
        ],
    )
}
