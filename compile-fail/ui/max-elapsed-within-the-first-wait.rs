use vta_retry_runtime::vta_retry;

// The default backoff waits 500 ms first: the deadline is over before a retry could start.
#[vta_retry(max_elapsed = "300ms")]
async fn read() -> Result<u32, std::io::Error> {
    Ok(1)
}

#[vta_retry(attempts = 5, backoff = "2s", max_elapsed = "1s")]
async fn write() -> Result<u32, std::io::Error> {
    Ok(1)
}

// Equal jitter waits at least half: 1 s here.
#[vta_retry(backoff = "2s..4s", jitter = "equal", max_elapsed = "1s")]
async fn list() -> Result<u32, std::io::Error> {
    Ok(1)
}

// Accepted: full jitter may wait less than the deadline, and one attempt never waits.
#[vta_retry(backoff = "2s", jitter = "full", max_elapsed = "1s")]
async fn spread() -> Result<u32, std::io::Error> {
    Ok(1)
}

#[vta_retry(attempts = 1, max_elapsed = "300ms")]
async fn once() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
