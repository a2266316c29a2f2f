//! Depends on the runtime under the name `retry` (see `Cargo.toml`) and uses the attribute with no
//! `crate = …`: the expansion finds the runtime by the name the manifest gives it. Without that,
//! this crate does not compile ("unresolved module or unlinked crate `vta_retry_runtime`").

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

/// Fails its first call with a reset connection, then returns the number of calls made.
#[retry::vta_retry(backoff = "1ms")]
pub async fn flaky(calls: &AtomicU32) -> io::Result<u32> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call == 1 {
        return Err(io::ErrorKind::ConnectionReset.into());
    }
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_renamed_runtime_is_found_and_retries() {
        let calls = AtomicU32::new(0);
        assert_eq!(flaky(&calls).await.unwrap(), 2);
    }
}
