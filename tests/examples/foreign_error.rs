//! `retry_if` over an error type neither you nor the runtime classifies the way you want: here
//! `reqwest::Error`, retried only when the request timed out (the runtime's own `reqwest`
//! classifier would also retry refused connections and 5xx).
//!
//! ```text
//! cargo run --example foreign_error
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use vta_retry_runtime::vta_retry;
use vta_retry_tests::server::{Reply, Server, refused_url};

#[vta_retry(attempts = 3, backoff = "50ms", retry_if = |error| error.is_timeout())]
async fn fetch(
    http: &reqwest::Client,
    url: &str,
    calls: &AtomicU32,
) -> Result<String, reqwest::Error> {
    calls.fetch_add(1, Ordering::SeqCst);
    http.get(format!("{url}/health")).send().await?.text().await
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("a client");

    let silent = Server::health([Reply::Silent, Reply::Healthy]).await;
    let calls = AtomicU32::new(0);
    let outcome = fetch(&http, &silent.url(), &calls).await;
    println!(
        "a silent server: {} after {} attempts (a timeout is retried)",
        if outcome.is_ok() { "ok" } else { "failed" },
        calls.load(Ordering::SeqCst)
    );

    let calls = AtomicU32::new(0);
    let outcome = fetch(&http, &refused_url(), &calls).await;
    println!(
        "a refused port: {} after {} attempt (this `retry_if` retries timeouts only)",
        if outcome.is_ok() { "ok" } else { "failed" },
        calls.load(Ordering::SeqCst)
    );
}
