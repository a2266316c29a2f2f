use vta_retry_runtime::vta_retry;

#[vta_retry(backoff = "500 ms..1 s")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
