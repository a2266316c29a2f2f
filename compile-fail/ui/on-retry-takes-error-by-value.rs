use vta_retry_runtime::{RetryEvent, vta_retry};

fn log_retry(error: std::io::Error, retry: &RetryEvent) {
    eprintln!("attempt {} failed: {error}", retry.attempt());
}

#[vta_retry(on_retry = log_retry)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
