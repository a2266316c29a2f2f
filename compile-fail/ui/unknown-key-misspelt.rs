use vta_retry_runtime::vta_retry;

#[vta_retry(backof = "1s", jiter = "full")]
async fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
