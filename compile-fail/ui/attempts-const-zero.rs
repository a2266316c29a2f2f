use vta_retry_runtime::vta_retry;

const ATTEMPTS: u32 = 0;

#[vta_retry(attempts = ATTEMPTS)]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
