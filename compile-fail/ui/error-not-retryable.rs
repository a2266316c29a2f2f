use vta_retry_runtime::vta_retry;

#[derive(Debug)]
struct MyError;

#[vta_retry]
async fn call() -> Result<u32, MyError> {
    Ok(1)
}

fn main() {}
