//! The stale-session failure and its recovery, with vta-sdk's real REST client.
//!
//! A loopback server answers a first `GET /health`, then goes silent on that kept-alive
//! connection, as a mediator that forgot a socket does. The next call is sent on it, waits out
//! the SDK's request timeout and fails with `VtaError::Network`; `#[vta_retry]` waits and sends
//! again on the same client, which opens a new connection, and the call lands.
//!
//! ```text
//! cargo run --example stale_session
//! ```
//!
//! It takes about two seconds: the SDK's timeout, set to one second with `VTA_REST_TIMEOUT_SECS`,
//! plus the policy's first wait of 500 ms.

use std::error::Error;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use vta_retry_runtime::{Policy, Retryable, vta_retry};
use vta_retry_tests::server::{Reply, Server};
use vta_sdk::client::{HealthResponse, VtaClient};
use vta_sdk::error::VtaError;

/// The variable vta-sdk's REST client reads its request timeout from (default 30 s).
const TIMEOUT_VAR: &str = "VTA_REST_TIMEOUT_SECS";

fn main() -> ExitCode {
    // `std::env::set_var` is `unsafe` in edition 2024 and the workspace forbids `unsafe_code`, so
    // the example runs itself again with the variable in the child's environment instead.
    if std::env::var(TIMEOUT_VAR).as_deref() != Ok("1") {
        let status = Command::new(std::env::current_exe().expect("this program's path"))
            .args(std::env::args_os().skip(1))
            .env(TIMEOUT_VAR, "1")
            .status()
            .expect("run this program again");
        return if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run())
}

async fn run() -> ExitCode {
    let start = Instant::now();
    let server = Server::health([Reply::Healthy, Reply::Silent, Reply::Healthy]).await;
    let client = VtaClient::new(&server.url());
    let policy = Policy::DEFAULT;
    println!(
        "policy (bare #[vta_retry]): {} attempts, waits {:?}; SDK request timeout {}s",
        policy.attempts(),
        policy.waits().collect::<Vec<_>>(),
        std::env::var(TIMEOUT_VAR).unwrap_or_default()
    );

    match client.health().await {
        Ok(health) => println!(
            "[{:>5.2?}] first call: ok (status {:?}); the server now goes silent on that connection",
            start.elapsed(),
            health.status
        ),
        Err(error) => {
            println!("first call failed: {error}");
            return ExitCode::FAILURE;
        }
    }

    let attempts = AtomicU32::new(0);
    let outcome = check_health(&client, &attempts, start).await;
    let (requests, connections) = (server.requests(), server.connections());
    match outcome {
        Ok(health) => {
            println!(
                "[{:>5.2?}] outcome: ok (status {:?}) after {} attempts; the server read {requests} \
                 requests on {connections} connections",
                start.elapsed(),
                health.status,
                attempts.load(Ordering::SeqCst)
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("outcome: failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `GET /health` under the bare attribute's policy, [`Policy::DEFAULT`], printing each attempt.
///
/// The wait printed is `Policy::DEFAULT.next_wait` for this attempt and this error's
/// classification: the same call, with the same arguments, that the expansion makes to decide.
#[vta_retry]
async fn check_health(
    client: &VtaClient,
    attempts: &AtomicU32,
    start: Instant,
) -> Result<HealthResponse, VtaError> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    let outcome = client.health().await;
    let at = start.elapsed();
    match &outcome {
        Ok(health) => println!(
            "[{at:>5.2?}] attempt {attempt}: ok (status {:?})",
            health.status
        ),
        Err(error) => {
            let transient = error.is_transient();
            let decision = match Policy::DEFAULT.next_wait(attempt, transient) {
                Some(wait) => format!("transient, retrying in {wait:?}"),
                None if transient => "transient, but that was the last attempt".to_owned(),
                None => "permanent, returned as it is".to_owned(),
            };
            println!(
                "[{at:>5.2?}] attempt {attempt}: {} -> {decision}",
                with_causes(error)
            );
        }
    }
    outcome
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
