// Misspelled paths: each is reported once, as rustc reports any unresolved name, and nothing
// else is said about them.
use vta_retry_runtime::vta_retry;

#[vta_retry(retry_if = is_retryable, on_retry = log_retries, policy = VTA_POLCY)]
async fn create_key() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
