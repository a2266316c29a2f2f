use vta_retry_runtime::vta_retry;

#[vta_retry(timeout = "1m30s")]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
