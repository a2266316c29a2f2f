use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(transient)]
    #[retryable(transient)]
    Timeout,
}

fn main() {}
