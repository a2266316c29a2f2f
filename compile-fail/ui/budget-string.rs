use vta_retry_runtime::vta_retry;

#[vta_retry(budget = "VTA_BUDGET")]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
