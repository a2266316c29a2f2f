//! Validation: the values the grammar accepted, checked against each other and against the
//! function they annotate. Each error is reported at the token that caused it.

use std::time::Duration;

use syn::{ExprPath, Path, ReturnType};

use crate::duration::display_duration;
use crate::parse::{Args, BackoffText, Errors, RetryFn};

/// `#[vta_retry]` alone: the policy of the hand-written helper this crate replaced.
const DEFAULT_ATTEMPTS: u32 = 3;
const DEFAULT_FIRST_WAIT: Duration = Duration::from_millis(500);
const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(1);

/// A checked attribute: everything the expansion needs, nothing left to go wrong.
pub struct Config {
    /// Total attempts, the first included; at least 1.
    pub attempts: u32,
    /// The wait before the second attempt.
    pub first_wait: Duration,
    /// The cap the doubling waits never exceed; at least `first_wait`.
    pub max_wait: Duration,
    /// The user's classifier, used instead of the error type's `Retryable` impl.
    pub retry_if: Option<ExprPath>,
    /// Where the runtime crate lives; `::vta_retry_runtime` unless `crate = …` says otherwise.
    pub crate_path: Path,
}

/// Checks the parsed arguments, adding each mistake to `errors`.
pub fn validate_args(args: Args, errors: &mut Errors) -> Config {
    let attempts = args
        .attempts
        .and_then(|(n, span)| errors.check(check_attempts(n, span)))
        .unwrap_or(DEFAULT_ATTEMPTS);
    let (first_wait, max_wait) = args
        .backoff
        .and_then(|(b, span)| errors.check(check_backoff(b, span)))
        .unwrap_or((DEFAULT_FIRST_WAIT, DEFAULT_MAX_WAIT));
    Config {
        attempts,
        first_wait,
        max_wait,
        retry_if: args.retry_if,
        crate_path: args
            .crate_path
            .unwrap_or_else(|| syn::parse_quote!(::vta_retry_runtime)),
    }
}

fn check_attempts(attempts: u64, span: proc_macro2::Span) -> syn::Result<u32> {
    if attempts == 0 {
        return Err(syn::Error::new(
            span,
            "`attempts` must be at least 1: it counts every call, the first included",
        ));
    }
    u32::try_from(attempts).map_err(|_| {
        syn::Error::new(
            span,
            format!("`attempts` is too large: at most {}", u32::MAX),
        )
    })
}

fn check_backoff(
    backoff: BackoffText,
    span: proc_macro2::Span,
) -> syn::Result<(Duration, Duration)> {
    let BackoffText { first, max } = backoff;
    let Some(max) = max else {
        return Ok((first, first));
    };
    if first > max {
        return Err(syn::Error::new(
            span,
            format!(
                "the first wait, {}, is longer than the cap, {}: write the shorter wait first, as in `\"{}..{}\"`",
                display_duration(first),
                display_duration(max),
                display_duration(max),
                display_duration(first),
            ),
        ));
    }
    if first.is_zero() && !max.is_zero() {
        return Err(syn::Error::new(
            span,
            "a backoff that starts at zero never grows: start above zero, or write `\"0s\"` to retry at once",
        ));
    }
    Ok((first, max))
}

/// Checks that the function is one the expansion can wrap: an `async fn` with a return type.
/// Whether that type is a `Result` is left to the compiler, through the runtime's
/// `#[diagnostic::on_unimplemented]` traits, so aliases such as `io::Result<T>` work.
pub fn check_fn(function: &RetryFn, errors: &mut Errors) {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span,
            "`#[vta_retry]` needs an `async fn`: it retries by awaiting the body again",
        ));
    }
    if let ReturnType::Default = sig.output {
        errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            "`#[vta_retry]` needs a function that returns `Result<T, E>`; this one returns `()`",
        ));
    }
}
