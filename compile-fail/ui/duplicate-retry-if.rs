use vta_retry_runtime::vta_retry;

fn is_transient(_: &std::io::Error) -> bool {
    true
}

#[vta_retry(retry_if = is_transient, retry_if = is_transient)]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
