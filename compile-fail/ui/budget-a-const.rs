use vta_retry_runtime::vta_retry;

// A `const` is a new budget at every use: retries would never be throttled.
const BUDGET: vta_retry_runtime::RetryBudget = vta_retry_runtime::RetryBudget::new(10, 0.1);
#[vta_retry(budget = BUDGET)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
