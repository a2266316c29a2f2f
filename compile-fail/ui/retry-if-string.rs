use vta_retry_runtime::vta_retry;

#[vta_retry(retry_if = "is_transient")]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
