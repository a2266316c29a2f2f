use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(delegate)]
    Timeout,
}

fn main() {}
