use vta_retry_runtime::vta_retry;

fn is_transient(_: &std::io::Error) -> bool {
    true
}

#[vta_retry(crate = vta_retry_runtime, crate = vta_retry_runtime)]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
