//! Validation: the values the grammar accepted, checked against each other and against the
//! function they annotate. Each error is reported at the token that caused it.

use std::time::Duration;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprPath, FnArg, Path, ReceiverKind, ReturnType, Signature};

use super::args::{Args, Attempts, JitterKind};
use super::function::{Body, RetryFn, ending_future};
use crate::diagnostics::Errors;
use crate::duration::BackoffText;
use crate::duration::display_duration;
use crate::runtime_path;

/// A checked attribute: everything the expansion needs, nothing left to go wrong. A key the
/// attribute does not set is `None`: the base policy's value stands (`policy = …`, or
/// `Policy::DEFAULT`, the hand-written helper's 3 attempts, 500 ms then 1 s).
pub struct Config {
    /// Total attempts, the first included.
    pub attempts: Option<AttemptCount>,
    /// The wait before the second attempt, and the cap the doubling waits never exceed.
    pub backoff: Option<(Duration, Duration)>,
    /// How the waits are spread.
    pub jitter: Option<JitterKind>,
    /// The bound on each attempt.
    pub timeout: Option<Duration>,
    /// The deadline of the whole call.
    pub max_elapsed: Option<Duration>,
    /// The longest server hint honoured.
    pub max_hint: Option<Duration>,
    /// The user's classifier (a path or a closure), used instead of the error type's `Retryable`.
    pub retry_if: Option<Expr>,
    /// The user's hook, called before each wait.
    pub on_retry: Option<Expr>,
    /// The `static` retry budget.
    pub budget: Option<ExprPath>,
    /// The `const` policy the keys above override.
    pub policy: Option<ExprPath>,
    /// `vta_key = true | false`, with the value's span; unset, a function whose error type is
    /// `VtaError` holds a key.
    pub vta_key: Option<(bool, Span)>,
    /// Where the runtime crate lives: `crate = …`, else the name the user's `Cargo.toml` gives
    /// it, else `::vta_retry_runtime`.
    pub crate_path: Path,
}

/// Total attempts, the first included.
pub enum AttemptCount {
    /// A literal, checked here: at least 1.
    Literal(u32),
    /// A `const`, checked at least 1 when the user's crate compiles.
    Const(ExprPath),
}

/// Checks the parsed arguments, adding each mistake to `errors`.
pub fn validate_args(args: Args, errors: &mut Errors) -> Config {
    let attempts = match args.attempts {
        Some(Attempts::Count(n, span)) => errors
            .check(check_attempts(n, span))
            .map(AttemptCount::Literal),
        Some(Attempts::Const(path)) => Some(AttemptCount::Const(path)),
        None => None,
    };
    let backoff = args
        .backoff
        .and_then(|(b, span)| errors.check(check_backoff(b, span)));
    let timeout = args.timeout.and_then(|(d, span)| {
        errors.check(check_above_zero(
            "timeout",
            d,
            span,
            "every attempt would be cut before it began",
        ))
    });
    let max_elapsed = args.max_elapsed.and_then(|(d, span)| {
        errors.check(check_above_zero(
            "max_elapsed",
            d,
            span,
            "the call would give up before its first attempt ended",
        ))
    });
    if let (Some(timeout), Some((max_elapsed, span))) = (timeout, args.max_elapsed) {
        if timeout > max_elapsed {
            errors.push(syn::Error::new(
                span,
                format!(
                    "`max_elapsed` ({}) is shorter than `timeout` ({}): every attempt would be cut at the deadline first; \
                     shorten `timeout`, or drop it",
                    display_duration(max_elapsed),
                    display_duration(timeout),
                ),
            ));
        }
    }
    if let (Some(_), Some((max_elapsed, span))) = (max_elapsed, args.max_elapsed) {
        let retries = !matches!(attempts, Some(AttemptCount::Literal(1)));
        let first_wait = shortest_first_wait(backoff, args.jitter, args.policy.is_some());
        if let Some(first_wait) = first_wait.filter(|wait| retries && *wait >= max_elapsed) {
            errors.push(syn::Error::new(
                span,
                format!(
                    "`max_elapsed` ({}) is no longer than the first wait, at least {}: no wait may end at or past the deadline, \
                     so the call would give up after its first attempt; lengthen `max_elapsed`, or shorten `backoff`",
                    display_duration(max_elapsed),
                    display_duration(first_wait),
                ),
            ));
        }
    }
    Config {
        attempts,
        backoff,
        jitter: args.jitter,
        timeout,
        max_elapsed,
        max_hint: args.max_hint.map(|(d, _)| d),
        retry_if: args.retry_if,
        on_retry: args.on_retry,
        budget: args.budget,
        policy: args.policy,
        vta_key: args.vta_key,
        crate_path: args
            .crate_path
            .unwrap_or_else(runtime_path::default_runtime_path),
    }
}

/// The first wait of `Policy::DEFAULT` (`500ms..1s`), for an attribute that names no backoff
/// and no policy.
const DEFAULT_FIRST_WAIT: Duration = Duration::from_millis(500);

/// The shortest the first wait can be, where the attribute alone says: the backoff's first wait
/// (the default's, without a `backoff` or a `policy`), halved by `jitter = "equal"`. `None` where
/// it cannot tell: `jitter = "full"` can wait any time down to zero, and a named policy's backoff
/// or jitter is known only to the compiler.
fn shortest_first_wait(
    backoff: Option<(Duration, Duration)>,
    jitter: Option<JitterKind>,
    names_policy: bool,
) -> Option<Duration> {
    let first = match backoff {
        Some((first, _)) => first,
        None if names_policy => return None,
        None => DEFAULT_FIRST_WAIT,
    };
    match jitter {
        Some(JitterKind::Full) => None,
        Some(JitterKind::Equal) => Some(first / 2),
        None if names_policy => None,
        Some(JitterKind::None) | None => Some(first),
    }
}

fn check_above_zero(key: &str, duration: Duration, span: Span, why: &str) -> syn::Result<Duration> {
    if duration.is_zero() {
        return Err(syn::Error::new(
            span,
            format!("`{key}` must be longer than zero: {why}"),
        ));
    }
    Ok(duration)
}

fn check_attempts(attempts: u64, span: Span) -> syn::Result<u32> {
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

fn check_backoff(backoff: BackoffText, span: Span) -> syn::Result<(Duration, Duration)> {
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

/// Checks that the function is one the expansion can wrap: an `async fn` (or one `#[async_trait]`
/// rewrote) that returns something, is not a test, is not already retried, and does not return a
/// borrow of a `&mut` argument. Whether the return type is a `Result` is left to the compiler,
/// through the runtime's `#[diagnostic::on_unimplemented]` traits, so aliases such as
/// `io::Result<T>` work.
pub fn check_fn(function: &RetryFn, errors: &mut Errors) {
    let sig = &function.sig;
    for attr in &function.attrs {
        if let Some(error) = check_neighbour(attr) {
            errors.push(error);
        }
    }
    if let Body::Other(body) = &function.body {
        errors.push(not_async(function, body.stream()));
    }
    let outcome = match (&function.body, &sig.output) {
        (Body::Future(future), _) => Some(future.outcome.to_token_stream()),
        (_, ReturnType::Type(_, ty)) => Some(ty.to_token_stream()),
        (_, ReturnType::Default) => None,
    };
    match outcome {
        None if sig.asyncness.is_some() => errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            "`#[vta_retry]` needs a function that returns `Result<T, E>`; this one returns `()`",
        )),
        None => {}
        Some(outcome) => {
            if let Some(span) = borrows_from_unique_reference(sig, outcome) {
                errors.push(syn::Error::new(span, RETURNS_A_UNIQUE_BORROW));
            }
        }
    }
}

const RETURNS_A_UNIQUE_BORROW: &str = "`#[vta_retry]` cannot retry a function that returns a borrow of a `&mut` argument: \
     the borrow a successful attempt returns must outlive the attempts before it, which the borrow checker cannot yet accept; \
     return an owned value, or retry a `&mut self` method that only fills and read the borrow after it";

/// An attribute beside `#[vta_retry]` that it cannot work with: a second `#[vta_retry]`, or a
/// test attribute below it.
fn check_neighbour(attr: &Attribute) -> Option<syn::Error> {
    let last = attr.path().segments.last()?.ident.to_string();
    match last.as_str() {
        "vta_retry" => Some(syn::Error::new_spanned(
            attr,
            "`#[vta_retry]` is applied twice: the outer one would retry every retry of the inner one, \
             attempts × attempts calls; keep one",
        )),
        "test" if is_test_below(attr) => Some(syn::Error::new_spanned(
            attr,
            "`#[vta_retry]` does not retry tests: a test that passes on its second attempt hides the fault it should report; \
             put `#[vta_retry]` on the function the test calls",
        )),
        _ => None,
    }
}

/// `#[test]`, `#[tokio::test]` and the like still below `#[vta_retry]`. The `::core::…::test`
/// that `#[tokio::test]` leaves behind when it ran first is reported by [`not_async`].
fn is_test_below(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .first()
        .is_none_or(|first| first.ident != "core")
}

/// The error for a function that is not `async`, naming the attribute above that rewrote it
/// when its traces show.
fn not_async(function: &RetryFn, body: TokenStream) -> syn::Error {
    let sig = &function.sig;
    let left_by_a_test_attribute = function.attrs.iter().find(|attr| {
        let path = attr.path();
        path.segments
            .last()
            .is_some_and(|last| last.ident == "test")
            && path
                .segments
                .first()
                .is_some_and(|first| first.ident == "core")
    });
    if let Some(attr) = left_by_a_test_attribute {
        return syn::Error::new(
            attr.span(),
            "a test attribute above `#[vta_retry]` (`#[tokio::test]`, say) has already made this a plain `fn`, \
             and `#[vta_retry]` does not retry tests: a test that passes on its second attempt hides the fault it should report; \
             put `#[vta_retry]` on the function the test calls",
        );
    }
    if mentions(body.clone(), "block_on") {
        return syn::Error::new(
            sig.fn_token.span,
            "an attribute above `#[vta_retry]` (`#[tokio::main]`, say) has already made this `async fn` a plain `fn` \
             that blocks on its body; put `#[vta_retry]` above that attribute",
        );
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        let block = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, body);
        let ends_in_a_future = syn::parse2::<syn::Block>(block.into_token_stream())
            .is_ok_and(|mut block| ending_future(&mut block).is_some());
        if ends_in_a_future {
            return syn::Error::new_spanned(
                ty,
                "`#[vta_retry]` cannot see the `Output` of the future this type names; \
                 write it out (`impl Future<Output = Result<…>> + Send`, or \
                 `Pin<Box<dyn Future<Output = Result<…>> + Send + '_>>`), or make this an `async fn`",
            );
        }
        if mentions(ty.to_token_stream(), "Future") {
            return syn::Error::new(
                sig.fn_token.span,
                "`#[vta_retry]` needs an `async fn`, or a `fn` whose body ends in an `async` block; write this one as an `async fn`",
            );
        }
    }
    syn::Error::new(
        sig.fn_token.span,
        "`#[vta_retry]` needs an `async fn`: it retries by awaiting the body again",
    )
}

fn mentions(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}

/// A lifetime as written: `Some("a")` for `'a`, `None` where it is elided (`&T`, `'_`).
type Lifetime = Option<String>;

/// Where the return type borrows from a `&mut` argument, the span of that borrow.
///
/// Under today's borrow checker, a loop that returns a borrow from one iteration cannot borrow the
/// same place again in the next ("NLL problem case #3"): no expansion of a retry loop compiles.
/// Lifetime elision is followed as rustc follows it: an elided lifetime in the return type is
/// `self`'s when there is a `self` reference, else the only lifetime among the arguments.
fn borrows_from_unique_reference(sig: &Signature, outcome: TokenStream) -> Option<Span> {
    let mut receiver = Vec::new();
    let mut arguments = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver_arg) => match &receiver_arg.kind {
                ReceiverKind::Reference(and, lifetime, mutability) => receiver.push((
                    lifetime
                        .as_ref()
                        .map(|l| l.ident.to_string())
                        .filter(|l| l != "_"),
                    mutability.is_some(),
                    and.span,
                )),
                ReceiverKind::Typed(_, ty) => lifetimes_in(ty.to_token_stream(), &mut receiver),
                _ => {}
            },
            FnArg::Typed(typed) => lifetimes_in(typed.ty.to_token_stream(), &mut arguments),
        }
    }
    let only_argument = match arguments.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    let elided_means = receiver
        .first()
        .or(only_argument)
        .map(|(lifetime, _, _)| lifetime.clone());
    let inputs: Vec<_> = receiver.iter().chain(&arguments).collect();
    let unique = |lifetime: &Lifetime| {
        inputs
            .iter()
            .any(|(l, is_unique, _)| *is_unique && l.is_some() && l == lifetime)
    };
    let mut returned = Vec::new();
    lifetimes_in(outcome, &mut returned);
    returned.into_iter().find_map(|(lifetime, _, span)| {
        let borrows_unique = match &lifetime {
            Some(name) if name == "static" => false,
            Some(_) => unique(&lifetime),
            None => match &elided_means {
                // Elided, and the lifetime it stands for is itself elided: that input's `&mut`-ness.
                Some(None) => receiver
                    .first()
                    .or_else(|| arguments.first())
                    .is_some_and(|(_, is_unique, _)| *is_unique),
                Some(named) => unique(named),
                None => false,
            },
        };
        borrows_unique.then_some(span)
    })
}

/// Every lifetime position in `tokens`: `&'a T`, `&T` (elided), `'a`, `'_`; with whether it is a
/// `&mut`, and its span.
fn lifetimes_in(tokens: TokenStream, found: &mut Vec<(Lifetime, bool, Span)>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Group(group) => lifetimes_in(group.stream(), found),
            TokenTree::Punct(p) if p.as_char() == '&' => {
                let span = p.span();
                let mut next = i + 1;
                let lifetime = lifetime_at(&trees, next);
                if lifetime.is_some() {
                    next += 2;
                }
                let is_mut = matches!(trees.get(next), Some(TokenTree::Ident(m)) if m == "mut");
                found.push((lifetime.flatten(), is_mut, span));
                i = next;
                continue;
            }
            TokenTree::Punct(p) if p.as_char() == '\'' => {
                if let Some(lifetime) = lifetime_at(&trees, i) {
                    found.push((lifetime, false, p.span()));
                    i += 2;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// The lifetime starting at `trees[i]`: `Some(Some(name))` for `'name`, `Some(None)` for `'_`,
/// `None` when there is none.
fn lifetime_at(trees: &[TokenTree], i: usize) -> Option<Lifetime> {
    match (trees.get(i), trees.get(i + 1)) {
        (Some(TokenTree::Punct(quote)), Some(TokenTree::Ident(name)))
            if quote.as_char() == '\'' =>
        {
            Some((name != "_").then(|| name.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn borrows(sig: TokenStream) -> bool {
        let sig: Signature = syn::parse2(sig).unwrap_or_else(|e| panic!("{e}"));
        let ReturnType::Type(_, ty) = &sig.output else {
            panic!("no return type")
        };
        borrows_from_unique_reference(&sig, ty.to_token_stream()).is_some()
    }

    #[test]
    fn the_shortest_first_wait_is_known_only_where_the_attribute_says_it() {
        let two_seconds = Some((Duration::from_secs(2), Duration::from_secs(4)));
        assert_eq!(
            shortest_first_wait(None, None, false),
            Some(DEFAULT_FIRST_WAIT)
        );
        assert_eq!(
            shortest_first_wait(two_seconds, None, false),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            shortest_first_wait(two_seconds, Some(JitterKind::Equal), false),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            shortest_first_wait(two_seconds, Some(JitterKind::Full), false),
            None
        );
        // A named policy may carry its own backoff or jitter.
        assert_eq!(shortest_first_wait(None, None, true), None);
        assert_eq!(shortest_first_wait(two_seconds, None, true), None);
        assert_eq!(
            shortest_first_wait(two_seconds, Some(JitterKind::None), true),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn a_borrow_of_mut_self_is_found_through_elision() {
        assert!(borrows(quote!(async fn f(&mut self) -> io::Result<&[u8]>)));
        assert!(borrows(
            quote!(async fn f(&mut self, n: &str) -> Result<&'_ [u8], E>)
        ));
        assert!(borrows(
            quote!(async fn f<'a>(&'a mut self) -> Result<Frame<'a>, E>)
        ));
        assert!(borrows(
            quote!(async fn f(buf: &mut Vec<u8>) -> io::Result<&[u8]>)
        ));
        assert!(borrows(
            quote!(async fn f<'a>(x: &str, buf: &'a mut [u8]) -> Result<&'a [u8], E>)
        ));
        assert!(borrows(
            quote!(async fn f(self: &mut Self) -> Result<&u8, E>)
        ));
        assert!(borrows(
            quote!(async fn f(self: Pin<&mut Self>) -> Result<&u8, E>)
        ));
    }

    #[test]
    fn shared_and_static_borrows_are_fine() {
        assert!(!borrows(quote!(async fn f(&self) -> io::Result<&[u8]>)));
        assert!(!borrows(
            quote!(async fn f(&mut self) -> io::Result<Vec<u8>>)
        ));
        assert!(!borrows(
            quote!(async fn f(&mut self) -> io::Result<&'static [u8]>)
        ));
        assert!(!borrows(
            quote!(async fn f<'a>(&mut self, n: &'a str) -> Result<&'a str, E>)
        ));
        assert!(!borrows(quote!(async fn f(x: &str) -> Result<&str, E>)));
        assert!(!borrows(
            quote!(async fn f(&self, buf: &mut Vec<u8>) -> Result<&str, E>)
        ));
    }
}
