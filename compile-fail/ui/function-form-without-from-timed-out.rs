use vta_retry_runtime::{Policy, Retryable};

#[derive(Debug)]
struct StoreError;

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("store error")
    }
}

impl Retryable for StoreError {
    fn is_transient(&self) -> bool {
        true
    }
}

// A policy may set a timeout, and a cut attempt must become a `StoreError`.
async fn call(policy: Policy) -> Result<u32, StoreError> {
    policy.retry(|| async { Err::<u32, _>(StoreError) }).await
}

fn main() {
    let _ = call;
}
