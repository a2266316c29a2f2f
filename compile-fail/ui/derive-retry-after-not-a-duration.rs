use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(transient)]
    RateLimited {
        #[retryable(retry_after)]
        retry_after_secs: u64,
    },
}

fn main() {}
