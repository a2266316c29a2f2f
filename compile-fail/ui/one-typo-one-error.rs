use vta_retry_runtime::vta_retry;

// A bad attribute still emits the function, so its callers raise no follow-on errors.
#[vta_retry(attempts = 0)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

async fn caller() -> u32 {
    call().await.unwrap()
}

fn main() {
    let _ = caller();
}
