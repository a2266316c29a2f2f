use std::time::Duration;
use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(transient)]
    RateLimited {
        #[retryable(retry_after)]
        retry_after: Duration,
        #[retryable(retry_after)]
        reset_in: Option<Duration>,
    },
}

fn main() {}
