use vta_retry_runtime::vta_retry;

fn is_transient(error: std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::TimedOut
}

#[vta_retry(retry_if = is_transient)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
