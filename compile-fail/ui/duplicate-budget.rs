use vta_retry_runtime::vta_retry;
static B: vta_retry_runtime::RetryBudget = vta_retry_runtime::RetryBudget::new(10, 0.1);
#[vta_retry(budget = B, budget = B)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
