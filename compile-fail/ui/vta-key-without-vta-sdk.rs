use vta_retry_runtime::vta_retry;

// This crate builds the runtime without its `vta-sdk` feature: there is no VTA key to hold.
#[vta_retry(vta_key = true)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
