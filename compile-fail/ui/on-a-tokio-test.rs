use vta_retry_runtime::vta_retry;

#[vta_retry]
#[tokio::test]
async fn flaky_test() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
