//! Feature `metrics`: a flaky service behind annotated functions that share a retry budget, with
//! Prometheus's exporter installed, and the scrape text it serves after a run with retries, a
//! give-up and a permanent error. On tokio's paused clock, so every duration is exact.
//!
//! ```text
//! cargo run --example metrics
//! ```

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use vta_retry_runtime::{RetryBudget, vta_retry};

/// Every call to the service draws on this budget.
static SERVICE_BUDGET: RetryBudget = RetryBudget::new(10, 0.1);

/// Requests the service has had.
static REQUESTS: AtomicU32 = AtomicU32::new(0);

/// Answers after 40 ms; the requests numbered in `failing` (from 1) fail with a reset.
async fn service(failing: &[u32]) -> io::Result<u32> {
    let request = REQUESTS.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(Duration::from_millis(40)).await;
    if failing.contains(&request) {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset",
        ));
    }
    Ok(request)
}

#[vta_retry(attempts = 3, backoff = "100ms..200ms", budget = SERVICE_BUDGET)]
async fn fetch_profile(failing: &[u32]) -> io::Result<u32> {
    service(failing).await
}

#[vta_retry(attempts = 3, backoff = "100ms..200ms", budget = SERVICE_BUDGET)]
async fn delete_profile() -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::NotFound, "no such profile"))
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    // Buckets for the attempt durations, so that PromQL's `histogram_quantile` can read them.
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("vta_retry_attempt_duration_seconds".to_owned()),
            &[0.05, 0.25, 1.0],
        )
        .expect("buckets")
        .install_recorder()
        .expect("the only recorder");
    vta_retry_runtime::describe_metrics();

    // Four calls: two succeed at once, one after a retry, one gives up after three failures.
    let failing = [3, 5, 6, 7];
    for _ in 0..4 {
        let outcome = fetch_profile(&failing).await;
        println!("fetch_profile: {outcome:?}");
    }
    // A permanent error: one attempt, never retried.
    println!("delete_profile: {:?}", delete_profile().await);

    println!("\n{}", prometheus.render());
}
