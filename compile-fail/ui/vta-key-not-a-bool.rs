use vta_retry_runtime::vta_retry;

#[vta_retry(vta_key = "true")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

#[vta_retry(vta_key = yes)]
async fn other() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
