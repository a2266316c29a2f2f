use vta_retry_runtime::vta_retry;
static ATTEMPTS: u32 = 3;
#[vta_retry(budget = ATTEMPTS)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
