use vta_retry_runtime::vta_retry;

const ATTEMPTS: f64 = 2.5;

#[vta_retry(attempts = ATTEMPTS)]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
