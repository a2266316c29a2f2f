use vta_retry_runtime::vta_retry;

#[vta_retry(max_hint = "10s", max_hint = "20s")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
