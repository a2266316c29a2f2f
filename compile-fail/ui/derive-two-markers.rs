use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(transient, delegate)]
    Io(std::io::Error),
}

fn main() {}
