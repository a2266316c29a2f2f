use vta_retry_runtime::vta_retry;

fn is_transient(_: &std::io::Error) -> bool {
    true
}

#[vta_retry(attempts = 2, attempts = 3)]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
