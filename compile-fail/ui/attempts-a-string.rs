use vta_retry_runtime::vta_retry;

#[vta_retry(attempts = "3")]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
