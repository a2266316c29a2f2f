//! The stale-session failure and its recovery, with vta-sdk's real REST client at its default
//! 30 s request timeout.
//!
//! A loopback server answers a first `GET /health`, then goes silent on that kept-alive
//! connection, as a mediator that forgot a socket does. The next call is sent on it. Without a
//! per-attempt bound it waits out the SDK's 30 s and fails; `#[vta_retry(timeout = "1s")]` cuts
//! the attempt after one second, waits 500 ms, and sends again on the same client, which opens a
//! new connection, and the call lands.
//!
//! ```text
//! cargo run --example stale_session               # the recovery: about 1.5 s
//! cargo run --example stale_session -- --without  # the same call unannotated: 30 s, then an error
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use vta_retry_runtime::{RetryEvent, vta_retry};
use vta_retry_tests::server::{Reply, Server};
use vta_sdk::client::{HealthResponse, VtaClient};
use vta_sdk::error::VtaError;

fn main() -> ExitCode {
    let without = std::env::args().any(|arg| arg == "--without");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run(without))
}

async fn run(without: bool) -> ExitCode {
    let server = Server::health([Reply::Healthy, Reply::Silent, Reply::Healthy]).await;
    let client = VtaClient::new(&server.url());
    match client.health().await {
        Ok(health) => println!(
            "first call: ok (status {:?}); the server now goes silent on that connection",
            health.status
        ),
        Err(error) => {
            println!("first call failed: {error}");
            return ExitCode::FAILURE;
        }
    }

    let start = Instant::now();
    let attempts = AtomicU32::new(0);
    let outcome = if without {
        println!("the next call, unannotated, waits for vta-sdk's own 30 s request timeout:");
        client.health().await
    } else {
        println!("the next call, under #[vta_retry(timeout = \"1s\")]:");
        check_health(&client, &attempts).await
    };
    let (requests, connections) = (server.requests(), server.connections());
    match outcome {
        Ok(health) => {
            println!(
                "[{:>5.2?}] ok (status {:?}) after {} attempts; the server read {requests} \
                 requests on {connections} connections",
                start.elapsed(),
                health.status,
                attempts.load(Ordering::SeqCst)
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!(
                "[{:>5.2?}] failed: {}",
                start.elapsed(),
                with_causes(&error)
            );
            // The unannotated call is shown failing on purpose.
            if without {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// `GET /health`, each attempt cut after one second, under the bare attribute's 3 attempts,
/// 500 ms then 1 s.
#[vta_retry(timeout = "1s", on_retry = print_retry)]
async fn check_health(
    client: &VtaClient,
    attempts: &AtomicU32,
) -> Result<HealthResponse, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    client.health().await
}

fn print_retry(error: &VtaError, retry: &RetryEvent) {
    println!(
        "[{:>5.2?}] attempt {}/{} of {}: {error} -> retrying in {:?}",
        retry.elapsed(),
        retry.attempt(),
        retry.max_attempts(),
        retry.function(),
        retry.wait()
    );
}

/// The error and its chain of causes, e.g. `network error: … : operation timed out`.
fn with_causes(error: &VtaError) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        // `Network`'s own message already quotes its direct cause.
        let inner_text = inner.to_string();
        if !text.ends_with(&inner_text) {
            text.push_str(&format!(": {inner_text}"));
        }
        cause = inner.source();
    }
    text
}
