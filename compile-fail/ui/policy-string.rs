use vta_retry_runtime::vta_retry;

#[vta_retry(policy = "VTA_CALLS")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
