//! Feature `metrics`: the exact series a call reports through the `metrics` facade, read back from
//! `metrics-util`'s debugging recorder, installed for one test's thread. Durations are exact: the
//! tests run on tokio's paused clock, where only the attempts' own sleeps move time.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use vta_retry_runtime::{Backoff, Policy, RetryBudget, vta_retry};

/// What one test's calls reported, each series by its name and sorted labels, as
/// `name{key=value,key=value}`.
#[derive(Debug, Default, PartialEq)]
struct Reported {
    counters: BTreeMap<String, u64>,
    gauges: BTreeMap<String, f64>,
    /// Every sample, in seconds, in the order recorded.
    histograms: BTreeMap<String, Vec<f64>>,
}

fn series(key: &CompositeKey) -> String {
    let mut labels: Vec<String> = key
        .key()
        .labels()
        .map(|label| format!("{}={}", label.key(), label.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.key().name(), labels.join(","))
}

fn reported(snapshotter: &Snapshotter) -> Reported {
    let mut reported = Reported::default();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let name = series(&key);
        match (key.kind(), value) {
            (MetricKind::Counter, DebugValue::Counter(count)) => {
                reported.counters.insert(name, count);
            }
            (MetricKind::Gauge, DebugValue::Gauge(value)) => {
                reported.gauges.insert(name, value.into_inner());
            }
            (MetricKind::Histogram, DebugValue::Histogram(samples)) => {
                let samples = samples.into_iter().map(|sample| sample.into_inner());
                reported.histograms.insert(name, samples.collect());
            }
            (kind, value) => panic!("{kind:?} series {name} holds {value:?}"),
        }
    }
    reported
}

/// Runs `calls` on a paused current-thread runtime with a debugging recorder installed for this
/// thread only (tests run in parallel, each with its own), and returns what they reported.
fn recording<F: Future<Output = ()>>(calls: impl FnOnce() -> F) -> Reported {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(calls()));
    reported(&snapshotter)
}

fn counters<const N: usize>(series: [(&str, u64); N]) -> BTreeMap<String, u64> {
    series
        .into_iter()
        .map(|(name, count)| (name.to_owned(), count))
        .collect()
}

fn histograms<const N: usize>(series: [(&str, Vec<f64>); N]) -> BTreeMap<String, Vec<f64>> {
    series
        .into_iter()
        .map(|(name, samples)| (name.to_owned(), samples))
        .collect()
}

fn reset() -> io::Error {
    io::Error::from(io::ErrorKind::ConnectionReset)
}

/// Fails transiently `failures` times, each after 100 ms, then succeeds after 50 ms.
#[vta_retry(attempts = 3, backoff = "500ms..1s")]
async fn fetch_profile(calls: &AtomicU32, failures: u32) -> io::Result<u32> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call <= failures {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Err(reset());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(call)
}

#[test]
fn a_call_that_fails_twice_then_succeeds_counts_three_attempts_and_one_ok_call() {
    let reported = recording(|| async {
        let calls = AtomicU32::new(0);
        assert_eq!(fetch_profile(&calls, 2).await.unwrap(), 3);
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=fetch_profile,outcome=transient}",
                2
            ),
            (
                "vta_retry_attempts_total{function=fetch_profile,outcome=ok}",
                1
            ),
            ("vta_retry_calls_total{function=fetch_profile,result=ok}", 1),
        ])
    );
    // Each attempt timed alone: the backoff's waits are not in any attempt's duration.
    assert_eq!(
        reported.histograms,
        histograms([
            (
                "vta_retry_attempt_duration_seconds{function=fetch_profile,outcome=transient}",
                vec![0.1, 0.1]
            ),
            (
                "vta_retry_attempt_duration_seconds{function=fetch_profile,outcome=ok}",
                vec![0.05]
            ),
        ])
    );
    assert!(reported.gauges.is_empty(), "no budget, no gauge");
}

#[test]
fn a_call_that_never_fails_reports_its_ok_attempt_and_ok_call() {
    let reported = recording(|| async {
        let calls = AtomicU32::new(0);
        for _ in 0..3 {
            calls.store(0, Ordering::SeqCst);
            fetch_profile(&calls, 0).await.unwrap();
        }
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=fetch_profile,outcome=ok}",
                3
            ),
            ("vta_retry_calls_total{function=fetch_profile,result=ok}", 3),
        ])
    );
}

#[vta_retry(attempts = 3)]
async fn delete_record() -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::NotFound))
}

#[test]
fn a_permanent_error_counts_one_attempt_and_a_permanent_call() {
    let reported = recording(|| async {
        assert!(delete_record().await.is_err());
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=delete_record,outcome=permanent}",
                1
            ),
            (
                "vta_retry_calls_total{function=delete_record,result=permanent}",
                1
            ),
        ])
    );
    assert_eq!(
        reported.histograms,
        histograms([(
            "vta_retry_attempt_duration_seconds{function=delete_record,outcome=permanent}",
            vec![0.0]
        )])
    );
}

#[vta_retry(attempts = 2, backoff = "1s")]
async fn always_down() -> io::Result<()> {
    Err(reset())
}

#[test]
fn running_out_of_attempts_is_a_reason_of_its_own() {
    let reported = recording(|| async {
        assert!(always_down().await.is_err());
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=always_down,outcome=transient}",
                2
            ),
            (
                "vta_retry_calls_total{function=always_down,result=attempts_exhausted}",
                1
            ),
        ])
    );
}

/// Four tokens, refilled by one per success: retries while more than two remain.
static METERED_BUDGET: RetryBudget = RetryBudget::new(4, 1.0);

#[vta_retry(attempts = 10, backoff = "1s", budget = METERED_BUDGET)]
async fn drain_the_budget(calls: &AtomicU32, failures: u32) -> io::Result<()> {
    if calls.fetch_add(1, Ordering::SeqCst) < failures {
        return Err(reset());
    }
    Ok(())
}

#[test]
fn a_budget_that_runs_out_gives_up_and_its_tokens_are_a_gauge_named_after_its_path() {
    let reported = recording(|| async {
        // 4 → 3, retry; 3 → 2, not above half: the call gives up.
        let calls = AtomicU32::new(0);
        assert!(drain_the_budget(&calls, u32::MAX).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=drain_the_budget,outcome=transient}",
                2
            ),
            (
                "vta_retry_calls_total{function=drain_the_budget,result=budget_exhausted}",
                1
            ),
        ])
    );
    // A snapshot holds a gauge's last value.
    assert_eq!(
        reported.gauges,
        BTreeMap::from([(
            "vta_retry_budget_tokens{budget=METERED_BUDGET}".to_owned(),
            2.0
        )])
    );

    // A success refills it, and the gauge follows; a success on a full budget changes nothing,
    // and reports nothing.
    let reported = recording(|| async {
        let calls = AtomicU32::new(0);
        drain_the_budget(&calls, 0).await.unwrap();
    });
    assert_eq!(
        reported.gauges,
        BTreeMap::from([(
            "vta_retry_budget_tokens{budget=METERED_BUDGET}".to_owned(),
            3.0
        )])
    );
    let reported = recording(|| async {
        let calls = AtomicU32::new(0);
        drain_the_budget(&calls, 0).await.unwrap();
        assert_eq!(METERED_BUDGET.tokens(), 4.0);
        drain_the_budget(&calls, 0).await.unwrap();
    });
    assert_eq!(
        reported.gauges,
        BTreeMap::from([(
            "vta_retry_budget_tokens{budget=METERED_BUDGET}".to_owned(),
            4.0
        )])
    );
    assert_eq!(
        reported.counters["vta_retry_calls_total{function=drain_the_budget,result=ok}"],
        2
    );
}

#[derive(Debug)]
enum Fault {
    Reset,
    TimedOut,
}

impl vta_retry_runtime::Retryable for Fault {
    fn is_transient(&self) -> bool {
        true
    }
}

impl From<vta_retry_runtime::TimedOut> for Fault {
    fn from(_: vta_retry_runtime::TimedOut) -> Self {
        Fault::TimedOut
    }
}

/// Hangs for a minute on its first attempt; answers at once after.
#[vta_retry(attempts = 3, backoff = "500ms", timeout = "1s")]
async fn hangs_once(calls: &AtomicU32) -> Result<u32, Fault> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call == 1 {
        tokio::time::sleep(Duration::from_secs(60)).await;
        return Err(Fault::Reset);
    }
    Ok(call)
}

#[test]
fn an_attempt_cut_by_the_timeout_is_timed_out_and_lasts_the_timeout() {
    let reported = recording(|| async {
        let calls = AtomicU32::new(0);
        assert_eq!(hangs_once(&calls).await.unwrap(), 2);
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=hangs_once,outcome=timed_out}",
                1
            ),
            (
                "vta_retry_attempts_total{function=hangs_once,outcome=ok}",
                1
            ),
            ("vta_retry_calls_total{function=hangs_once,result=ok}", 1),
        ])
    );
    assert_eq!(
        reported.histograms,
        histograms([
            (
                "vta_retry_attempt_duration_seconds{function=hangs_once,outcome=timed_out}",
                vec![1.0]
            ),
            (
                "vta_retry_attempt_duration_seconds{function=hangs_once,outcome=ok}",
                vec![0.0]
            ),
        ])
    );
}

#[test]
fn the_function_form_reports_the_same_series_under_its_label() {
    let reported = recording(|| async {
        let calls = AtomicU32::new(0);
        let policy = Policy::new(3, Backoff::constant(Duration::from_millis(500)));
        let outcome = policy
            .retry(|| async {
                let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                if call == 1 { Err(reset()) } else { Ok(call) }
            })
            .label(format!("user_{}", "lookup"))
            .await;
        assert_eq!(outcome.unwrap(), 2);
        // Unlabelled, the function form reports as `retry`.
        let outcome: io::Result<()> = Policy::new(1, Backoff::constant(Duration::ZERO))
            .retry(|| async { Err(reset()) })
            .await;
        assert!(outcome.is_err());
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=user_lookup,outcome=transient}",
                1
            ),
            (
                "vta_retry_attempts_total{function=user_lookup,outcome=ok}",
                1
            ),
            ("vta_retry_calls_total{function=user_lookup,result=ok}", 1),
            (
                "vta_retry_attempts_total{function=retry,outcome=transient}",
                1
            ),
            (
                "vta_retry_calls_total{function=retry,result=attempts_exhausted}",
                1
            ),
        ])
    );
    assert_eq!(
        reported.histograms["vta_retry_attempt_duration_seconds{function=user_lookup,outcome=ok}"],
        vec![0.02]
    );
}

/// The inner call fails on the outer call's first attempt, and succeeds on its second.
#[vta_retry(attempts = 3, backoff = "1s")]
async fn inner_lookup(calls: &AtomicU32) -> io::Result<u32> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call == 1 { Err(reset()) } else { Ok(call) }
}

#[vta_retry(attempts = 3, backoff = "1s")]
async fn outer_flow(calls: &AtomicU32) -> io::Result<u32> {
    let found = inner_lookup(calls).await?;
    Ok(found * 10)
}

#[test]
fn a_call_nested_in_another_attempt_is_counted_once_by_its_owner() {
    let reported = recording(|| async {
        let calls = AtomicU32::new(0);
        assert_eq!(outer_flow(&calls).await.unwrap(), 20);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no retry multiplied");
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=outer_flow,outcome=transient}",
                1
            ),
            (
                "vta_retry_attempts_total{function=outer_flow,outcome=ok}",
                1
            ),
            ("vta_retry_calls_total{function=outer_flow,result=ok}", 1),
        ])
    );
}

#[test]
fn a_retry_refused_by_the_deadline_says_so() {
    #[vta_retry(attempts = 5, backoff = "2s", max_elapsed = "3s")]
    async fn slow_to_recover() -> io::Result<()> {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Err(reset())
    }
    let reported = recording(|| async {
        assert!(slow_to_recover().await.is_err());
    });
    // 0.5 s, wait 2 s, 0.5 s: at 3 s, another wait would end past the deadline.
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=slow_to_recover,outcome=transient}",
                2
            ),
            (
                "vta_retry_calls_total{function=slow_to_recover,result=deadline}",
                1
            ),
        ])
    );
}

/// A server that asks for a minute's pause.
#[derive(Debug)]
struct SlowDown;

impl vta_retry_runtime::Retryable for SlowDown {
    fn is_transient(&self) -> bool {
        true
    }

    fn retry_after(&self) -> Option<Duration> {
        Some(Duration::from_secs(60))
    }
}

#[vta_retry(attempts = 3, max_hint = "5s")]
async fn rate_limited() -> Result<(), SlowDown> {
    Err(SlowDown)
}

#[test]
fn a_hint_longer_than_the_policy_waits_gives_up_as_hint_too_long() {
    let reported = recording(|| async {
        assert!(rate_limited().await.is_err());
    });
    assert_eq!(
        reported.counters,
        counters([
            (
                "vta_retry_attempts_total{function=rate_limited,outcome=transient}",
                1
            ),
            (
                "vta_retry_calls_total{function=rate_limited,result=hint_too_long}",
                1
            ),
        ])
    );
}

#[vta_retry(attempts = 1)]
async fn r#match() -> io::Result<()> {
    Ok(())
}

#[test]
fn a_raw_identifier_is_reported_by_its_name() {
    let reported = recording(|| async {
        r#match().await.unwrap();
    });
    assert_eq!(
        reported.counters["vta_retry_calls_total{function=match,result=ok}"],
        1
    );
}

// ---- inside vta-sdk's `idempotent`, which owns retry and reports nothing ----

#[path = "support/vta.rs"]
mod vta;

#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_signing_key(
    client: &vta_sdk::client::VtaClient,
) -> Result<vta_sdk::client::CreateKeyResponse, vta_sdk::error::VtaError> {
    client.create_key(vta::create_key_request("signing")).await
}

/// Inside `client.idempotent(..)`, vta-sdk retries and the function makes one attempt per call;
/// each of those calls counts itself, so the failures vta-sdk retries are seen.
#[test]
fn inside_idempotent_each_one_attempt_call_counts_itself() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // The real clock: the client's requests go over loopback TCP.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let requests = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let (server, log) = vta::recording(vta::still_running).await;
            let vta = vta::MiniVta::new([]).await;
            let client = vta.client(&server);
            client
                .idempotent(|| create_signing_key(&client))
                .await
                .expect_err("unavailable throughout");
            log.lock().unwrap().len() as u64
        })
    });
    assert_eq!(requests, 3, "idempotent's three attempts, one request each");
    assert_eq!(
        reported(&snapshotter).counters,
        counters([
            (
                "vta_retry_attempts_total{function=create_signing_key,outcome=transient}",
                requests
            ),
            (
                "vta_retry_calls_total{function=create_signing_key,result=attempts_exhausted}",
                requests
            ),
        ])
    );
}
