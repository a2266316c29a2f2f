//! Your own error type, classified by `#[derive(Retryable)]` beside `thiserror::Error`: a busy
//! store is retried, a rate limit after the wait it asks for, a 5xx by a function of the status,
//! an I/O error by its kind, and a missing record never.
//!
//! ```text
//! cargo run --example custom_error
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

use vta_retry_runtime::{Retryable, vta_retry};

#[derive(Debug, thiserror::Error, Retryable)]
enum StoreError {
    #[error("the store is busy")]
    #[retryable(transient)]
    Busy,
    #[error("rate limited, retry in {0:?}")]
    #[retryable(transient)]
    Throttled(#[retryable(retry_after)] Duration),
    #[error("HTTP {0}")]
    #[retryable(transient_if = StoreError::is_server_fault)]
    Http(u16),
    #[error(transparent)]
    #[retryable(delegate)]
    Io(#[from] std::io::Error),
    #[error("no such record: {0}")]
    NotFound(String),
}

impl StoreError {
    fn is_server_fault(&self) -> bool {
        matches!(self, StoreError::Http(status) if *status >= 500)
    }
}

/// One answer of the store: a value, or a way to make the error.
type Answer = Result<&'static str, fn() -> StoreError>;

/// The answers the store gives, in order.
static SCRIPT: Mutex<Vec<Answer>> = Mutex::new(Vec::new());

#[vta_retry(attempts = 4, backoff = "50ms")]
async fn read(id: &str) -> Result<String, StoreError> {
    let next = SCRIPT.lock().unwrap().remove(0);
    match next {
        Ok(value) => Ok(format!("{id}: {value}")),
        Err(make) => {
            let error = make();
            println!("  {error} (transient: {})", error.is_transient());
            Err(error)
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let scripts: [(&str, Vec<Answer>); 3] = [
        (
            "busy, a 503, a reset connection, then the record",
            vec![
                Err(|| StoreError::Busy),
                Err(|| StoreError::Http(503)),
                Err(|| std::io::Error::from(std::io::ErrorKind::ConnectionReset).into()),
                Ok("found"),
            ],
        ),
        (
            "throttled for 300 ms, then the record",
            vec![
                Err(|| StoreError::Throttled(Duration::from_millis(300))),
                Ok("found"),
            ],
        ),
        (
            "not found",
            vec![Err(|| StoreError::NotFound("k".into())), Ok("never read")],
        ),
    ];
    for (name, script) in scripts {
        println!("{name}:");
        *SCRIPT.lock().unwrap() = script;
        let start = Instant::now();
        match read("k").await {
            Ok(value) => println!("  -> {value}, after {:?}", start.elapsed()),
            Err(error) => println!("  -> returned at once: {error}"),
        }
    }
}
