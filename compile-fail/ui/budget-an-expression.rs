use vta_retry_runtime::{RetryBudget, vta_retry};

#[vta_retry(budget = RetryBudget::new(10, 0.1))]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {
    let _ = RetryBudget::new(1, 0.1);
}
