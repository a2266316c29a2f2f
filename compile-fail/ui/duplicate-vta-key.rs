use vta_retry_runtime::vta_retry;

#[vta_retry(vta_key = true, vta_key = false)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
