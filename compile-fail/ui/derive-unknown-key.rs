use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(transparent)]
    Io(std::io::Error),
}

fn main() {}
