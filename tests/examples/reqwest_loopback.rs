//! `reqwest` against a loopback server, classified by the runtime's `reqwest` feature: a 503 and a
//! dropped connection are retried, a 404 is not.
//!
//! ```text
//! cargo run --example reqwest_loopback
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

use vta_retry_runtime::{RetryEvent, vta_retry};
use vta_retry_tests::server::{Reply, Server};

/// `GET /health`, turned into an error by any status that is not a success.
#[vta_retry(backoff = "100ms", on_retry = report)]
async fn health(
    http: &reqwest::Client,
    url: &str,
    calls: &AtomicU32,
) -> Result<String, reqwest::Error> {
    calls.fetch_add(1, Ordering::SeqCst);
    http.get(format!("{url}/health"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

fn report(error: &reqwest::Error, retry: &RetryEvent) {
    println!(
        "  attempt {} failed ({error}); retrying in {:?}",
        retry.attempt(),
        retry.wait()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let http = reqwest::Client::new();
    for (name, script) in [
        (
            "a 503, then a dropped connection, then 200",
            vec![Reply::status(503, ""), Reply::Close, Reply::Healthy],
        ),
        ("a 404", vec![Reply::status(404, ""), Reply::Healthy]),
    ] {
        println!("{name}:");
        let server = Server::health(script).await;
        let calls = AtomicU32::new(0);
        match health(&http, &server.url(), &calls).await {
            Ok(body) => println!(
                "  ok after {} attempts: {body}",
                calls.load(Ordering::SeqCst)
            ),
            Err(error) => println!(
                "  failed after {} attempt(s): {error}",
                calls.load(Ordering::SeqCst)
            ),
        }
    }
}
