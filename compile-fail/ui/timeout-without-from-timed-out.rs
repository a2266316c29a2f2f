use vta_retry_runtime::{Retryable, vta_retry};

#[derive(Debug)]
enum StoreError {
    Busy,
}

impl Retryable for StoreError {
    fn is_transient(&self) -> bool {
        matches!(self, StoreError::Busy)
    }
}

// A cut attempt must become a `StoreError`, and nothing says how.
#[vta_retry(timeout = "1s")]
async fn call() -> Result<u32, StoreError> {
    Ok(1)
}

fn main() {}
