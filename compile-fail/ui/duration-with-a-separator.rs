use vta_retry_runtime::vta_retry;

#[vta_retry(timeout = "1_000ms", max_elapsed = "1,5s")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
