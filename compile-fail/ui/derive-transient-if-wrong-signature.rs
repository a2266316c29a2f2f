use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
enum StoreError {
    #[retryable(transient_if = is_server_error)]
    Http { status: u16 },
}

fn is_server_error(status: u16) -> bool {
    status >= 500
}

fn main() {}
