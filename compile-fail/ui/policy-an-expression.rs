use vta_retry_runtime::{Policy, vta_retry};

#[vta_retry(policy = Policy::DEFAULT.with_attempts(5))]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {
    let _ = Policy::DEFAULT;
}
