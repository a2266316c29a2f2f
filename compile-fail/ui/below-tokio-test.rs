use vta_retry_runtime::vta_retry;

#[tokio::test]
#[vta_retry]
async fn flaky_test() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
