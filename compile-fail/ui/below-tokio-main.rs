use vta_retry_runtime::vta_retry;

#[tokio::main(flavor = "current_thread")]
#[vta_retry]
async fn main() -> Result<(), std::io::Error> {
    Ok(())
}
