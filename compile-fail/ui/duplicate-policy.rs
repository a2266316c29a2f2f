use vta_retry_runtime::vta_retry;
const P: vta_retry_runtime::Policy = vta_retry_runtime::Policy::DEFAULT;
#[vta_retry(policy = P, policy = P)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
