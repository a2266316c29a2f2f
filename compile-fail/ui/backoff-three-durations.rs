use vta_retry_runtime::vta_retry;

#[vta_retry(backoff = "500ms..1s..2s")]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
