use vta_retry_runtime::vta_retry;
fn log(_: &std::io::Error, _: &vta_retry_runtime::RetryEvent) {}
#[vta_retry(on_retry = log, on_retry = log)]
async fn call() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
