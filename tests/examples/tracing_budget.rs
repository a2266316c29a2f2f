//! What feature `tracing` prints, and one retry budget shared by two functions: while the
//! service is down, the budget lets a few retries through, then calls fail at once.
//!
//! ```text
//! cargo run --example tracing_budget
//! ```

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use vta_retry_runtime::{RetryBudget, vta_retry};

/// Every function that talks to the service draws on this one budget.
static SERVICE_BUDGET: RetryBudget = RetryBudget::new(6, 0.5);

static SERVICE_UP: AtomicBool = AtomicBool::new(false);
static REQUESTS: AtomicU32 = AtomicU32::new(0);

fn request() -> io::Result<u32> {
    REQUESTS.fetch_add(1, Ordering::SeqCst);
    if SERVICE_UP.load(Ordering::SeqCst) {
        Ok(7)
    } else {
        Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "service down",
        ))
    }
}

#[vta_retry(attempts = 3, backoff = "10ms", budget = SERVICE_BUDGET)]
async fn create_key() -> io::Result<u32> {
    tracing::info!("sending create_key");
    request()
}

#[vta_retry(attempts = 3, backoff = "10ms", budget = SERVICE_BUDGET)]
async fn create_did() -> io::Result<u32> {
    tracing::info!("sending create_did");
    request()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .without_time()
        .init();

    println!("-- the service is down: retries until the budget is half spent, then none");
    for round in 1..=3 {
        let key = create_key().await;
        let did = create_did().await;
        println!(
            "round {round}: {} / {}; tokens left {:.1}; requests so far {}",
            key.is_ok(),
            did.is_ok(),
            SERVICE_BUDGET.tokens(),
            REQUESTS.load(Ordering::SeqCst)
        );
    }

    println!("-- the service is back: calls succeed, and each success refills the budget");
    SERVICE_UP.store(true, Ordering::SeqCst);
    for round in 4..=6 {
        let key = create_key().await;
        println!(
            "round {round}: {}; tokens {:.1}",
            key.is_ok(),
            SERVICE_BUDGET.tokens()
        );
    }
}
