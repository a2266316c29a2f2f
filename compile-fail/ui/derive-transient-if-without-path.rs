use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(transient_if)]
    Http { status: u16 },
}

fn main() {}
