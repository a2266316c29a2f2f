use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(delegate)]
    Io(std::io::Error, String),
}

fn main() {}
