use vta_retry_runtime::vta_retry;

#[vta_retry(max_elapsed = "10s", max_elapsed = "20s")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
