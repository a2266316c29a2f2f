use vta_retry_runtime::vta_retry;

#[vta_retry(delay = "1s", max_delay = "10s")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
