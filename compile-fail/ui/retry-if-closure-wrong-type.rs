use vta_retry_runtime::vta_retry;

#[vta_retry(retry_if = |error: &String| error.is_empty())]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
