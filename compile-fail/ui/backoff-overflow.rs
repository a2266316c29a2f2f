use vta_retry_runtime::vta_retry;

#[vta_retry(backoff = "99999999999999999999s")]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
