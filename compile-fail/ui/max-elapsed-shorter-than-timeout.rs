use vta_retry_runtime::vta_retry;

#[vta_retry(timeout = "5s", max_elapsed = "2s")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
