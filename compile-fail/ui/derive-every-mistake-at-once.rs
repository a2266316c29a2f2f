use vta_retry_runtime::{Retryable, vta_retry};

// Three mistakes, three errors; and none in the function that uses the type, since the derive
// still implements `Retryable` (never retrying) beside its errors.
#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(transiant)]
    Timeout,
    #[retryable(delegate)]
    Closed,
    RateLimited(#[retryable(retry_after)] u64),
}

#[vta_retry]
async fn call() -> Result<u32, StoreError> {
    Ok(1)
}

fn main() {}
