use vta_retry_runtime::vta_retry;

#[vta_retry(backoff = 500ms)]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
