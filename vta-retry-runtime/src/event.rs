//! What the `on_retry` hook is told about each retry.

use std::time::Duration;

/// One retry about to happen: passed to the `on_retry` hook after an attempt failed and before
/// the wait. Never made on success, nor when the loop gives up.
///
/// ```
/// use vta_retry_runtime::{RetryEvent, vta_retry};
///
/// fn log_retry(error: &std::io::Error, retry: &RetryEvent) {
///     eprintln!(
///         "{}: attempt {}/{} failed ({error}); retrying in {:?}",
///         retry.function(), retry.attempt(), retry.max_attempts(), retry.wait()
///     );
/// }
///
/// #[vta_retry(on_retry = log_retry)]
/// async fn fetch() -> std::io::Result<u32> {
///     Ok(1)
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryEvent<'a> {
    pub(crate) function: &'a str,
    pub(crate) attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) wait: Duration,
    pub(crate) elapsed: Duration,
}

impl<'a> RetryEvent<'a> {
    /// The annotated function's name, or the label given to the function form.
    pub const fn function(&self) -> &'a str {
        self.function
    }

    /// The attempt that failed, counting from 1.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The policy's total attempts, the first included.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait chosen before the next attempt, after jitter and the server's hint.
    pub const fn wait(&self) -> Duration {
        self.wait
    }

    /// Time since the call started: since its first wait on anything, which for an attempt that
    /// does I/O is its start to within the time of one poll.
    pub const fn elapsed(&self) -> Duration {
        self.elapsed
    }
}
