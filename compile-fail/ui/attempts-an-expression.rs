use vta_retry_runtime::vta_retry;

const RETRIES: u32 = 2;

#[vta_retry(attempts = RETRIES + 1)]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
