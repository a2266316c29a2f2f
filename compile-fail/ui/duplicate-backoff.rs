use vta_retry_runtime::vta_retry;

fn is_transient(_: &std::io::Error) -> bool {
    true
}

#[vta_retry(backoff = "1s", backoff = "2s")]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
