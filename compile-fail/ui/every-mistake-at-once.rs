use vta_retry_runtime::vta_retry;

#[vta_retry(atempts = 3, backoff = "5sec", attempts = 0)]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
