use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    Io(#[retryable(delegate)] std::io::Error),
}

fn main() {}
