//! What an attempt returned, as the engine reads it.

/// What an attempt returned: the engine needs only to see whether it failed, and to make a
/// failure of a timed-out attempt.
#[diagnostic::on_unimplemented(
    message = "`#[vta_retry]` needs a function that returns `Result<T, E>`, not `{Self}`",
    label = "this must be a `Result`",
    note = "the attribute retries when the function returns `Err`; aliases such as `io::Result<T>` are fine"
)]
pub trait RetryOutcome {
    /// The error type.
    type Error;
    /// The error, when the attempt failed.
    fn failure(&self) -> Option<&Self::Error>;
    /// A failed outcome.
    fn failed(error: Self::Error) -> Self;
}

impl<T, E> RetryOutcome for Result<T, E> {
    type Error = E;

    #[inline]
    fn failure(&self) -> Option<&E> {
        self.as_ref().err()
    }

    #[inline]
    fn failed(error: E) -> Self {
        Err(error)
    }
}
