use vta_retry_runtime::vta_retry;

#[vta_retry(jitter = full)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
