use vta_retry_runtime::vta_retry;

#[vta_retry(attempts = 3,, backoff = "1s")]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
