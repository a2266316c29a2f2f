//! The keys that make the loop see the world around it — `jitter`, `max_elapsed`, `timeout`,
//! `max_hint` and the server's hint, `on_retry`, `policy` — each alone and together, on tokio's
//! paused clock, where every wait and every cut is exact.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use vta_retry_runtime::{Backoff, Jitter, Policy, RetryEvent, Retryable, TimedOut, vta_retry};
use vta_retry_tests::ms;

/// One scripted attempt: how long it takes, and what it returns.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Fails at once with a transient error carrying this server hint.
    Fail(Option<Duration>),
    /// Fails at once with a permanent error.
    Refuse,
    /// Hangs for this long, then succeeds.
    Hang(Duration),
    /// Succeeds at once.
    Succeed,
}

#[derive(Debug, PartialEq, Eq)]
enum ApiError {
    Busy { retry_after: Option<Duration> },
    Invalid,
    TimedOut(Duration),
}

impl Retryable for ApiError {
    fn is_transient(&self) -> bool {
        matches!(self, ApiError::Busy { .. })
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Busy { retry_after } => *retry_after,
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The timeout's error is deliberately *not* classified transient above: a cut attempt must be
/// retried whatever the classifier says.
impl From<TimedOut> for ApiError {
    fn from(timed_out: TimedOut) -> Self {
        ApiError::TimedOut(timed_out.limit())
    }
}

/// Plays a list of steps, one per attempt, recording when each attempt started.
struct Remote {
    start: Instant,
    steps: Mutex<Vec<Step>>,
    starts: Mutex<Vec<Duration>>,
}

impl Remote {
    fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        let mut steps: Vec<Step> = steps.into_iter().collect();
        steps.reverse();
        Self {
            start: Instant::now(),
            steps: Mutex::new(steps),
            starts: Mutex::new(Vec::new()),
        }
    }

    async fn call(&self) -> Result<u32, ApiError> {
        self.starts.lock().unwrap().push(self.start.elapsed());
        let step = self
            .steps
            .lock()
            .unwrap()
            .pop()
            .expect("more attempts than the script allows");
        match step {
            Step::Fail(retry_after) => Err(ApiError::Busy { retry_after }),
            Step::Refuse => Err(ApiError::Invalid),
            Step::Hang(duration) => {
                tokio::time::sleep(duration).await;
                Ok(self.attempts())
            }
            Step::Succeed => Ok(self.attempts()),
        }
    }

    fn attempts(&self) -> u32 {
        self.starts.lock().unwrap().len() as u32
    }

    /// When each attempt started, from the remote's creation.
    fn starts(&self) -> Vec<Duration> {
        self.starts.lock().unwrap().clone()
    }

    /// The gaps between attempt starts.
    fn gaps(&self) -> Vec<Duration> {
        self.starts().windows(2).map(|w| w[1] - w[0]).collect()
    }
}

const FAIL: Step = Step::Fail(None);

// ---- jitter ----

#[vta_retry(attempts = 6, backoff = "100ms..1s", jitter = "full")]
async fn full_jitter(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[vta_retry(attempts = 6, backoff = "100ms..1s", jitter = "equal")]
async fn equal_jitter(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[vta_retry(attempts = 6, backoff = "100ms..1s", jitter = "none")]
async fn no_jitter(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

/// The scheduled waits of `attempts = 6, backoff = "100ms..1s"`.
const SCHEDULED: [Duration; 5] = [ms(100), ms(200), ms(400), ms(800), ms(1000)];

/// tokio's paused clock sleeps in whole milliseconds, rounding up.
fn on_tokio_timer(wait: Duration) -> Duration {
    Duration::from_millis(u64::try_from(wait.as_nanos().div_ceil(1_000_000)).unwrap())
}

#[tokio::test(start_paused = true)]
async fn full_jitter_spreads_each_wait_over_zero_to_the_scheduled_wait() {
    let mut all = Vec::new();
    for _ in 0..40 {
        let remote = Remote::new([FAIL; 6]);
        assert!(full_jitter(&remote).await.is_err());
        let gaps = remote.gaps();
        assert_eq!(gaps.len(), 5);
        for (gap, scheduled) in gaps.iter().zip(SCHEDULED) {
            assert!(*gap <= scheduled, "{gap:?} > {scheduled:?}");
        }
        all.extend(gaps);
    }
    // 200 draws: they differ from one another, and reach both halves of their ranges.
    assert!(all.iter().any(|gap| *gap != all[0]));
    assert!(
        all.iter()
            .zip(SCHEDULED.iter().cycle())
            .any(|(gap, s)| *gap < *s / 2)
    );
    assert!(
        all.iter()
            .zip(SCHEDULED.iter().cycle())
            .any(|(gap, s)| *gap > *s / 2)
    );
}

#[tokio::test(start_paused = true)]
async fn equal_jitter_keeps_at_least_half_of_each_wait() {
    let mut all = Vec::new();
    for _ in 0..40 {
        let remote = Remote::new([FAIL; 6]);
        assert!(equal_jitter(&remote).await.is_err());
        for (gap, scheduled) in remote.gaps().into_iter().zip(SCHEDULED) {
            assert!(
                gap >= scheduled / 2 && gap <= scheduled,
                "{gap:?} vs {scheduled:?}"
            );
            all.push(gap);
        }
    }
    assert!(all.iter().any(|gap| *gap != all[0]));
}

#[tokio::test(start_paused = true)]
async fn without_jitter_the_schedule_is_exact() {
    let remote = Remote::new([FAIL; 6]);
    assert!(no_jitter(&remote).await.is_err());
    assert_eq!(remote.gaps(), SCHEDULED);
}

// ---- max_elapsed ----

#[vta_retry(attempts = 10, backoff = "1s", max_elapsed = "3500ms")]
async fn within_a_deadline(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[tokio::test(start_paused = true)]
async fn no_wait_ends_past_the_deadline() {
    // Attempts at 0, 1, 2 and 3 s; after the fourth, a 1 s wait would end at 4 s, past 3.5 s.
    let remote = Remote::new([FAIL; 10]);
    let start = Instant::now();
    let error = within_a_deadline(&remote).await.unwrap_err();
    assert_eq!(error, ApiError::Busy { retry_after: None });
    assert_eq!(remote.starts(), [ms(0), ms(1000), ms(2000), ms(3000)]);
    assert_eq!(start.elapsed(), ms(3000));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_counts_the_attempts_own_time() {
    // The first attempt takes 3 s to fail: a 1 s wait would end at 4 s, past 3.5 s.
    let remote = SlowFailure::new(ms(3000));
    let start = Instant::now();
    let error = slow_within_a_deadline(&remote).await.unwrap_err();
    assert_eq!(error, ApiError::Busy { retry_after: None });
    assert_eq!(remote.attempts(), 1);
    assert_eq!(start.elapsed(), ms(3000));
}

/// Every attempt takes `delay`, then fails transiently.
struct SlowFailure {
    delay: Duration,
    attempts: Mutex<u32>,
}

impl SlowFailure {
    fn new(delay: Duration) -> Self {
        Self {
            delay,
            attempts: Mutex::new(0),
        }
    }

    async fn call(&self) -> Result<u32, ApiError> {
        *self.attempts.lock().unwrap() += 1;
        tokio::time::sleep(self.delay).await;
        Err(ApiError::Busy { retry_after: None })
    }

    fn attempts(&self) -> u32 {
        *self.attempts.lock().unwrap()
    }
}

#[vta_retry(attempts = 10, backoff = "1s", max_elapsed = "3500ms")]
async fn slow_within_a_deadline(remote: &SlowFailure) -> Result<u32, ApiError> {
    remote.call().await
}

// ---- timeout ----

#[vta_retry(attempts = 3, backoff = "500ms", timeout = "1s")]
async fn bounded(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[tokio::test(start_paused = true)]
async fn a_hung_attempt_is_cut_and_retried_even_if_its_error_is_not_transient() {
    let remote = Remote::new([Step::Hang(ms(30_000)), Step::Succeed]);
    let start = Instant::now();
    assert_eq!(bounded(&remote).await, Ok(2));
    assert_eq!(remote.starts(), [ms(0), ms(1500)]);
    assert_eq!(start.elapsed(), ms(1500));
}

#[tokio::test(start_paused = true)]
async fn an_attempt_within_the_timeout_is_not_cut() {
    let remote = Remote::new([Step::Hang(ms(999))]);
    let start = Instant::now();
    assert_eq!(bounded(&remote).await, Ok(1));
    assert_eq!(start.elapsed(), ms(999));
}

#[tokio::test(start_paused = true)]
async fn the_last_cut_attempt_returns_timed_out_as_the_functions_error() {
    let remote = Remote::new([Step::Hang(ms(30_000)); 3]);
    let start = Instant::now();
    assert_eq!(bounded(&remote).await, Err(ApiError::TimedOut(ms(1000))));
    assert_eq!(remote.starts(), [ms(0), ms(1500), ms(3000)]);
    assert_eq!(start.elapsed(), ms(4000));
}

#[vta_retry(attempts = 5, backoff = "500ms", timeout = "2s", max_elapsed = "3s")]
async fn bounded_by_both(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[tokio::test(start_paused = true)]
async fn with_a_deadline_an_attempt_is_also_cut_at_the_deadline() {
    // Cut at 2 s (the timeout); retried at 2.5 s; cut at 3 s (the deadline, 500 ms in); no
    // wait fits after that.
    let remote = Remote::new([Step::Hang(ms(30_000)); 5]);
    let start = Instant::now();
    assert_eq!(
        bounded_by_both(&remote).await,
        Err(ApiError::TimedOut(ms(500)))
    );
    assert_eq!(remote.starts(), [ms(0), ms(2500)]);
    assert_eq!(start.elapsed(), ms(3000));
}

#[vta_retry(attempts = 2, backoff = "10ms", timeout = "1s")]
async fn io_bounded(remote: &Remote) -> io::Result<u32> {
    remote
        .call()
        .await
        .map_err(|_| io::ErrorKind::ConnectionReset.into())
}

#[tokio::test(start_paused = true)]
async fn io_errors_say_timed_out_by_kind() {
    let remote = Remote::new([Step::Hang(ms(5000)); 2]);
    let error = io_bounded(&remote).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(error.to_string(), "the attempt timed out after 1s");
}

// ---- the server's hint, and max_hint ----

#[vta_retry(attempts = 3, backoff = "500ms")]
async fn hinted(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[vta_retry(attempts = 3, backoff = "500ms", max_hint = "90s")]
async fn patient(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[vta_retry(attempts = 3, backoff = "1s", jitter = "full")]
async fn hinted_with_jitter(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[tokio::test(start_paused = true)]
async fn the_wait_is_the_longer_of_the_backoff_and_the_hint() {
    let remote = Remote::new([
        Step::Fail(Some(ms(2000))),
        Step::Fail(Some(ms(100))),
        Step::Succeed,
    ]);
    assert_eq!(hinted(&remote).await, Ok(3));
    assert_eq!(remote.gaps(), [ms(2000), ms(500)]);
}

#[tokio::test(start_paused = true)]
async fn a_hint_past_max_hint_gives_up_at_once() {
    let remote = Remote::new([Step::Fail(Some(ms(60_000)))]);
    let start = Instant::now();
    assert_eq!(
        hinted(&remote).await,
        Err(ApiError::Busy {
            retry_after: Some(ms(60_000))
        })
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn raising_max_hint_honours_a_longer_hint() {
    let remote = Remote::new([Step::Fail(Some(ms(60_000))), Step::Succeed]);
    assert_eq!(patient(&remote).await, Ok(2));
    assert_eq!(remote.gaps(), [ms(60_000)]);
}

#[tokio::test(start_paused = true)]
async fn jitter_never_shortens_a_wait_below_the_hint() {
    for _ in 0..50 {
        let remote = Remote::new([Step::Fail(Some(ms(800))), Step::Succeed]);
        assert_eq!(hinted_with_jitter(&remote).await, Ok(2));
        let gap = remote.gaps()[0];
        assert!(gap >= ms(800) && gap <= ms(1000), "{gap:?}");
    }
}

// ---- on_retry ----

static EVENTS: Mutex<Vec<(String, RetryEvent<'static>)>> = Mutex::new(Vec::new());

/// The attribute names the function with a `&'static str`, so its events can be kept.
fn record(error: &ApiError, retry: &RetryEvent<'static>) {
    EVENTS.lock().unwrap().push((format!("{error:?}"), *retry));
}

#[vta_retry(attempts = 4, backoff = "100ms..1s", on_retry = record)]
async fn observed(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[tokio::test(start_paused = true)]
async fn on_retry_sees_each_retry_before_its_wait_and_nothing_else() {
    EVENTS.lock().unwrap().clear();
    let remote = Remote::new([Step::Succeed]);
    assert_eq!(observed(&remote).await, Ok(1));
    assert!(
        EVENTS.lock().unwrap().is_empty(),
        "a success reported a retry"
    );

    // Two retries, then a permanent error: two events, none for giving up.
    let remote = Remote::new([FAIL, Step::Fail(Some(ms(300))), Step::Refuse]);
    assert_eq!(observed(&remote).await, Err(ApiError::Invalid));
    let events = EVENTS.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    let (error, first) = &events[0];
    assert_eq!(error, "Busy { retry_after: None }");
    assert_eq!(
        (
            first.function(),
            first.attempt(),
            first.max_attempts(),
            first.wait(),
            first.elapsed()
        ),
        ("observed", 1, 4, ms(100), ms(0))
    );
    let (_, second) = &events[1];
    assert_eq!(
        (second.attempt(), second.wait(), second.elapsed()),
        (2, ms(300), ms(100))
    );
}

/// A closure hook, with its parameter types inferred.
#[vta_retry(attempts = 3, backoff = "1ms", on_retry = |error, retry| {
    EVENTS_BY_CLOSURE.lock().unwrap().push((retry.attempt(), error.is_transient()));
})]
async fn observed_by_closure(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

static EVENTS_BY_CLOSURE: Mutex<Vec<(u32, bool)>> = Mutex::new(Vec::new());

#[tokio::test(start_paused = true)]
async fn on_retry_takes_a_closure() {
    let remote = Remote::new([FAIL, FAIL, FAIL]);
    assert!(observed_by_closure(&remote).await.is_err());
    assert_eq!(*EVENTS_BY_CLOSURE.lock().unwrap(), [(1, true), (2, true)]);
}

// ---- policy = PATH ----

/// A team's shared policy.
const TEAM_POLICY: Policy = Policy::new(5, Backoff::constant(ms(200)))
    .with_timeout(ms(1000))
    .with_jitter(Jitter::None);

mod config {
    use super::*;
    pub const QUICK: Policy = Policy::new(2, Backoff::constant(ms(10)));
}

#[vta_retry(policy = TEAM_POLICY)]
async fn team_default(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[vta_retry(policy = TEAM_POLICY, attempts = 2, backoff = "50ms")]
async fn team_with_overrides(remote: &Remote) -> Result<u32, ApiError> {
    remote.call().await
}

#[vta_retry(policy = config::QUICK)]
async fn quick(remote: &Remote) -> io::Result<u32> {
    remote
        .call()
        .await
        .map_err(|_| io::ErrorKind::ConnectionReset.into())
}

#[tokio::test(start_paused = true)]
async fn a_named_policy_applies_every_setting_it_holds() {
    // Five attempts, 200 ms apart, each cut at one second.
    let remote = Remote::new([Step::Hang(ms(30_000)); 5]);
    let start = Instant::now();
    assert_eq!(
        team_default(&remote).await,
        Err(ApiError::TimedOut(ms(1000)))
    );
    assert_eq!(remote.attempts(), 5);
    assert_eq!(start.elapsed(), ms(5 * 1000 + 4 * 200));

    let remote = Remote::new([FAIL; 2]);
    assert!(quick(&remote).await.is_err());
    assert_eq!(remote.gaps(), [ms(10)]);
}

#[tokio::test(start_paused = true)]
async fn keys_beside_a_named_policy_override_it() {
    let remote = Remote::new([Step::Hang(ms(30_000)); 2]);
    let start = Instant::now();
    assert_eq!(
        team_with_overrides(&remote).await,
        Err(ApiError::TimedOut(ms(1000)))
    );
    assert_eq!(remote.starts(), [ms(0), ms(1050)]);
    assert_eq!(start.elapsed(), ms(2050));
}

/// A client whose policy is its own: named through `Self`, which an item inside the method
/// cannot name, so the expansion writes the policy at each use instead of as one item.
struct QuickClient {
    remote: Remote,
}

impl QuickClient {
    const POLICY: Policy = Policy::new(2, Backoff::constant(ms(10)));

    #[vta_retry(policy = Self::POLICY)]
    async fn call(&self) -> io::Result<u32> {
        self.remote
            .call()
            .await
            .map_err(|_| io::ErrorKind::ConnectionReset.into())
    }
}

/// A policy a type parameter names.
trait HasPolicy {
    const POLICY: Policy;
}

struct Patient;

impl HasPolicy for Patient {
    const POLICY: Policy = Policy::new(3, Backoff::constant(ms(20)));
}

#[vta_retry(policy = P::POLICY)]
async fn with_policy_of<P: HasPolicy>(remote: &Remote) -> io::Result<u32> {
    remote
        .call()
        .await
        .map_err(|_| io::ErrorKind::ConnectionReset.into())
}

#[tokio::test(start_paused = true)]
async fn a_policy_named_through_self_or_a_type_parameter_applies() {
    let client = QuickClient {
        remote: Remote::new([FAIL; 2]),
    };
    assert!(client.call().await.is_err());
    assert_eq!(client.remote.gaps(), [ms(10)]);

    let remote = Remote::new([FAIL; 3]);
    assert!(with_policy_of::<Patient>(&remote).await.is_err());
    assert_eq!(remote.gaps(), [ms(20), ms(20)]);
}

// ---- every key at once, on `&mut self` ----

struct Session {
    remote: Remote,
    seen: Vec<u32>,
}

impl Session {
    #[vta_retry(
        attempts = 4,
        backoff = "100ms..400ms",
        jitter = "equal",
        timeout = "1s",
        max_elapsed = "10s",
        max_hint = "5s",
        on_retry = record_session,
    )]
    async fn call(&mut self) -> Result<u32, ApiError> {
        let value = self.remote.call().await?;
        self.seen.push(value);
        Ok(value)
    }
}

static SESSION_EVENTS: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

fn record_session(_: &ApiError, retry: &RetryEvent) {
    SESSION_EVENTS.lock().unwrap().push(retry.wait());
}

#[tokio::test(start_paused = true)]
async fn every_key_together_on_mut_self() {
    let mut session = Session {
        remote: Remote::new([
            Step::Hang(ms(30_000)),
            Step::Fail(Some(ms(2000))),
            FAIL,
            Step::Succeed,
        ]),
        seen: Vec::new(),
    };
    assert_eq!(session.call().await, Ok(4));
    assert_eq!(session.seen, [4]);
    let waits = SESSION_EVENTS.lock().unwrap().clone();
    assert_eq!(waits.len(), 3);
    assert!(waits[0] >= ms(50) && waits[0] <= ms(100), "{waits:?}");
    assert_eq!(
        waits[1],
        ms(2000),
        "the hint is longer than any jittered wait"
    );
    assert!(waits[2] >= ms(200) && waits[2] <= ms(400), "{waits:?}");
    let starts = session.remote.starts();
    assert_eq!(starts[1], ms(1000) + on_tokio_timer(waits[0]));
}

// ---- the bounds count from the start, as tokio's own timeout does ----

/// Attempt 1 holds its first poll for 300 ms of clock before it first waits (on tokio's paused
/// clock, `advance` moves the clock and yields), then never finishes; attempt 2 succeeds.
struct SlowFirstPoll {
    attempts: Mutex<u32>,
}

impl SlowFirstPoll {
    fn new() -> Self {
        Self {
            attempts: Mutex::new(0),
        }
    }

    async fn call(&self) -> Result<u32, ApiError> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            *attempts += 1;
            *attempts
        };
        if attempt == 1 {
            tokio::time::advance(ms(300)).await;
            std::future::pending::<()>().await;
        }
        Ok(attempt)
    }

    /// Fails, after holding its first poll for 300 ms of clock.
    async fn fail_slowly(&self) -> Result<u32, ApiError> {
        *self.attempts.lock().unwrap() += 1;
        tokio::time::advance(ms(300)).await;
        Err(ApiError::Busy { retry_after: None })
    }

    fn attempts(&self) -> u32 {
        *self.attempts.lock().unwrap()
    }
}

#[vta_retry(attempts = 2, backoff = "0s", timeout = "100ms")]
async fn slow_to_start(remote: &SlowFirstPoll) -> Result<u32, ApiError> {
    remote.call().await
}

#[tokio::test(start_paused = true)]
async fn the_timeout_counts_from_the_attempts_start_not_its_first_wait() {
    let remote = SlowFirstPoll::new();
    let start = Instant::now();
    assert_eq!(slow_to_start(&remote).await, Ok(2));
    // Cut when it first waits, 300 ms in, already past its 100 ms: as `tokio::time::timeout`
    // cuts it. (Counted from the first wait, it would run to 400 ms.)
    assert_eq!(start.elapsed(), ms(300));

    let remote = SlowFirstPoll::new();
    let start = Instant::now();
    let cut = tokio::time::timeout(ms(100), remote.call()).await;
    assert!(cut.is_err());
    assert_eq!(start.elapsed(), ms(300), "the same as tokio's own timeout");
}

#[tokio::test(start_paused = true)]
async fn the_function_forms_timeout_counts_from_the_attempts_start_too() {
    let remote = SlowFirstPoll::new();
    let start = Instant::now();
    let policy = Policy::new(2, Backoff::constant(Duration::ZERO)).with_timeout(ms(100));
    assert_eq!(policy.retry(|| remote.call()).await, Ok(2));
    assert_eq!(start.elapsed(), ms(300));
}

#[vta_retry(attempts = 3, backoff = "1ms", max_elapsed = "250ms")]
async fn slow_failure_within_a_deadline(remote: &SlowFirstPoll) -> Result<u32, ApiError> {
    remote.fail_slowly().await
}

#[tokio::test(start_paused = true)]
async fn the_deadline_counts_from_the_calls_start_not_its_first_wait() {
    let remote = SlowFirstPoll::new();
    let start = Instant::now();
    assert_eq!(
        slow_failure_within_a_deadline(&remote).await,
        Err(ApiError::Busy { retry_after: None })
    );
    // 300 ms in, past the 250 ms deadline: no second attempt.
    assert_eq!(remote.attempts(), 1);
    assert_eq!(start.elapsed(), ms(300));
}
