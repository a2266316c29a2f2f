use vta_retry_runtime::vta_retry;
const ATTEMPTS: u32 = 3;
#[vta_retry(policy = ATTEMPTS)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
