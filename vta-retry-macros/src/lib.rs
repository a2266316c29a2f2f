//! The `#[vta_retry]` attribute and `#[derive(Retryable)]`. Use them through
//! [`vta-retry-runtime`], which re-exports them and holds everything the expansions call.
//!
//! Each macro is a folder of stages, a file each: `attr/` (the grammar in `args.rs`, the function
//! in `function.rs`, `validate.rs`, and `expand.rs` with its helpers) and `derive/` (`attr.rs`,
//! `ast.rs`, `valid.rs`, `expand.rs`). What both use lives in files named for it:
//! `diagnostics.rs` (errors collected, the key a misspelt one meant), `tokens.rs` (generated
//! names, spans moved onto the user's tokens), `duration.rs` and `runtime_path.rs`. On any error a
//! macro emits the user's item beside the errors (the function unchanged, or an impl that never
//! retries), so one typo costs one error rather than a cascade.
//!
//! [`vta-retry-runtime`]: https://docs.rs/vta-retry-runtime

#![deny(missing_docs)]
#![warn(clippy::pedantic)]

mod attr;
mod derive;
mod diagnostics;
mod duration;
mod runtime_path;
mod tokens;

#[cfg(test)]
mod proptests;

use proc_macro::TokenStream;

/// Retries an `async fn` that returns `Result<T, E>` when it fails with a transient error.
///
/// ```ignore
/// use vta_retry_runtime::vta_retry;
///
/// #[vta_retry(attempts = 3, backoff = "500ms..1s")]
/// async fn create_signing_key(client: &Client, label: &str) -> Result<KeyId, VtaError> {
///     client.create_key(label).await
/// }
/// ```
///
/// | key | value | default |
/// |---|---|---|
/// | `attempts` | total calls, the first included; an integer ≥ 1, or the name of an integer `const` | `3` |
/// | `backoff` | `"A..B"`: wait `A`, doubling, never more than `B`; `"A"`: always `A`. Units `ns us ms s m h`, decimals allowed | `"500ms..1s"` |
/// | `jitter` | `"none"`, `"full"` (each wait uniform in [0, d]) or `"equal"` (d/2 plus uniform in [0, d/2]) | `"none"` |
/// | `timeout` | a duration bounding each attempt; a cut attempt is a transient failure. Needs `E: From<TimedOut>` | none |
/// | `max_elapsed` | a duration bounding the whole call, from its start | none |
/// | `max_hint` | the longest server hint (`Retryable::retry_after`) honoured; longer gives up at once | `"30s"` |
/// | `retry_if` | a path to a `fn(&E) -> bool`, or a closure, deciding which errors are transient | `E: Retryable` |
/// | `on_retry` | a path to a `fn(&E, &RetryEvent)`, or a closure, called before each wait | none |
/// | `budget` | the path of a `static` `RetryBudget` shared by every function that names it | none |
/// | `policy` | the path of a `const` `Policy` the other keys override | `Policy::DEFAULT` |
/// | `vta_key` | `true`: one vta-sdk idempotency key across the call's attempts; `false`: none | `true` for `Result<_, VtaError>` |
/// | `crate` | path of the runtime crate, when it is reached through a re-export (a rename in `Cargo.toml` is found without it) | `::vta_retry_runtime` |
///
/// Everything is checked at compile time; a mistake is a compile error at the token that is wrong.
///
/// The body runs once per attempt: `return` and `?` end that attempt, the last error is returned
/// unchanged, and dropping the future stops everything. Each attempt starts from the arguments
/// as passed (a `mut` argument is cloned from the original); a body that moves an argument that
/// is not `mut` cannot be run twice: borrow it, or clone it inside the body.
///
/// It also retries a method that `#[async_trait]` has rewritten, and a plain `fn` whose body ends
/// in an `async` block (`Box::pin`-ed or not); it refuses tests, a second `#[vta_retry]`, and a
/// function that returns a borrow of a `&mut` argument, each with an error that says why.
#[proc_macro_attribute]
pub fn vta_retry(args: TokenStream, item: TokenStream) -> TokenStream {
    attr::vta_retry(args.into(), item.into()).into()
}

/// Implements `Retryable` for an error type from `#[retryable(...)]` attributes on its variants.
///
/// ```ignore
/// use std::time::Duration;
/// use vta_retry_runtime::Retryable;
///
/// #[derive(Debug, thiserror::Error, Retryable)]
/// enum StoreError {
///     #[error("timed out")]
///     #[retryable(transient)]
///     Timeout,
///     #[error("HTTP {status}")]
///     #[retryable(transient_if = Self::is_server_error)]
///     Http { status: u16, #[retryable(retry_after)] retry_after: Option<Duration> },
///     #[error(transparent)]
///     #[retryable(delegate)]
///     Io(#[from] std::io::Error),
///     #[error("invalid request: {0}")]
///     Invalid(String),
/// }
///
/// impl StoreError {
///     fn is_server_error(&self) -> bool {
///         matches!(self, Self::Http { status: 500..=599, .. })
///     }
/// }
/// ```
///
/// | attribute | where | meaning |
/// |---|---|---|
/// | `#[retryable(transient)]` | a variant, or a struct | always worth another attempt |
/// | `#[retryable(transient_if = path)]` | a variant, or a struct | a `fn(&Self) -> bool` decides |
/// | `#[retryable(delegate)]` | a variant or struct with exactly one field | the field's own `Retryable` decides, and gives the hint (as thiserror's `#[error(transparent)]`) |
/// | `#[retryable(retry_after)]` | one field of type `Duration` or `Option<Duration>` | the server's hint, returned by `retry_after()` |
/// | `#[retryable(crate = path)]` | the type | the runtime's path, when it is reached through a re-export |
///
/// What is unmarked is never retried: a new variant is permanent until someone says otherwise.
/// A variant or struct takes at most one of `transient`, `transient_if` and `delegate`; a
/// delegating one takes its hint from its field, so it has no `retry_after` field of its own.
/// Generic types work: a delegated-to field whose type mentions a type parameter adds the bound
/// `Field: Retryable` to the impl. Every mistake is a compile error at the token that is wrong.
#[proc_macro_derive(Retryable, attributes(retryable))]
pub fn derive_retryable(input: TokenStream) -> TokenStream {
    derive::derive(input.into()).into()
}
