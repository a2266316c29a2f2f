//! The expansion: the user's function, re-emitted token for token, with its body run once per
//! attempt inside a loop. It cannot fail: everything that could go wrong was checked before.
//!
//! ```text
//! // Input:
//! #[vta_retry(attempts = 3, timeout = "5s")]
//! async fn f(client: &Client) -> Result<T, E> { BODY }
//!
//! // Output (the function's braces are the user's):
//! async fn f(client: &Client) -> Result<T, E> {
//!     let mut __vta_call = Call::start(POLICY, false);       // attempt 1; no clock read yet
//!     loop {
//!         let __vta_wait = {
//!             // One attempt: the body in an `async` block (so `return` and `?` end the attempt),
//!             // under a fake return edge that ties it to `Result<T, E>`, bounded by the timeout
//!             // only where one can be set.
//!             let __vta_outcome: Result<T, E> =
//!                 Attempt::limited(&mut __vta_call, "f", POLICY, timed_out_error::<Result<T, E>>(),
//!                                  async { if false { return loop {}; } BODY }).await;
//!             match after_attempt(POLICY, &mut __vta_call, "f", { &__vta_outcome }, no_hook, describer!(..)) {
//!                 Some(wait) => wait,
//!                 None => return __vta_outcome,   // success, a permanent error, or giving up
//!             }
//!         };
//!         if must_wait(__vta_wait) {              // zero: retry at once
//!             sleep(__vta_wait).await;            // the wait: tokio's timer
//!         }
//!     }
//! }
//! // where POLICY is `const { Policy::DEFAULT.with_attempts(3).with_timeout(5s) }`, written
//! // out at each use.
//!
//! // A body with no `.await`, no early exit, no macro call and no argument it could move runs in
//! // place instead, its context published around it (no future to build and poll):
//!     let mut __vta_parked: Option<Call> = None;
//!     loop {
//!         let __vta_wait = {
//!             let mut __vta_call = match __vta_parked { Some(c) => c, None => Call::start(..) };
//!             let __vta_outcome: Result<T, E> = {
//!                 let guard = InPlace::enter(&mut __vta_call, "f", POLICY);  // publishes
//!                 let __vta_outcome: Result<T, E> = { BODY };
//!                 guard.leave(&mut __vta_call);                            // withdraws
//!                 __vta_outcome
//!             };
//!             match after_attempt(..) {
//!                 Some(wait) => { __vta_parked = Some(__vta_call); wait }  // kept for the retry
//!                 None => return __vta_outcome,
//!             }
//!         };
//!         if must_wait(__vta_wait) { sleep(__vta_wait).await; }
//!     }
//! ```
//!
//! An `async` block, not a closure: `return` and `?` end the attempt, borrowed arguments
//! (`&mut self` included) are re-borrowed each time, nothing is boxed, and the future stays `Send`
//! whenever the body's is. The outcome is scoped so that it is dropped before the sleep: a failed
//! attempt's error is never held across an await. Every decision is the runtime's
//! (`after_attempt` asks `Policy::decide`), so the expansion stays a thin loop: one place where an
//! attempt is awaited, one where the wait happens, one where an attempt ends.
//!
//! The future holds only what must survive an await: the arguments, the call's state, and either
//! the attempt's future or tokio's `Sleep`. The policy is a constant at each use, not a local (a
//! local would be stored in the future across every await); the wait is passed by value and never
//! borrowed; `sleep` is tokio's timer itself.

use std::time::Duration;

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprPath, ReturnType, Signature, Type};

use crate::arguments::{Bindings, async_trait_bindings, fresh_arguments, rename_self};
use crate::parse::JitterKind;
use crate::parse::{Body, FutureBody, RetryFn};
use crate::tokens::{generated, respan};
use crate::validate::{AttemptCount, Config};

/// Rewrites `function` into its retry loop under the checked `config`.
pub fn expand(function: RetryFn, config: &Config) -> TokenStream {
    let RetryFn {
        attrs,
        vis,
        sig,
        body,
    } = function;
    match body {
        Body::Async(body) => {
            let (ret_span, outcome) = match &sig.output {
                ReturnType::Type(_, ty) => (ty.span(), Some(erase_impl_trait((**ty).clone()))),
                ReturnType::Default => (sig.paren_token.span.close(), None),
            };
            let open = body.span_open();
            let (inner_attrs, body) = split_inner_attributes(&body);
            let body = release_instrument_captures(body);
            let retry_loop = retry_loop(
                &sig,
                &body,
                open,
                outcome.as_ref(),
                ret_span,
                config,
                &Bindings::Signature,
            );
            // The function's braces are the user's, so that rustc's suggestions that wrap or
            // prefix the body land in the user's code, not on the attribute.
            let mut block = Group::new(Delimiter::Brace, quote!(#(#inner_attrs)* #retry_loop));
            block.set_span(body.span());
            quote!(#(#attrs)* #vis #sig #block)
        }
        Body::Future(future) => {
            let FutureBody { mut block, outcome } = *future;
            let bindings = FutureBody::moved_in(&block).map_or(Bindings::Signature, |lets| {
                Bindings::AsyncTrait(async_trait_bindings(lets, &sig))
            });
            if let Some((attempt, _)) = FutureBody::attempt(&mut block, &sig) {
                let mut body = Group::new(
                    Delimiter::Brace,
                    attempt
                        .stmts
                        .iter()
                        .map(ToTokens::to_token_stream)
                        .collect(),
                );
                body.set_span(attempt.brace_token.span.join());
                let open = attempt.brace_token.span.open();
                let outcome = erase_impl_trait(outcome);
                let retry_loop = retry_loop(
                    &sig,
                    &body,
                    open,
                    Some(&outcome),
                    outcome.span(),
                    config,
                    &bindings,
                );
                attempt.stmts = vec![syn::Stmt::Expr(syn::Expr::Verbatim(retry_loop), None)];
            }
            quote!(#(#attrs)* #vis #sig #block)
        }
        // Rejected by validation; never expanded.
        Body::Other(body) => quote!(#(#attrs)* #vis #sig #body),
    }
}

/// The statements of the retry loop around `body` (whose `{` is at `body_open`), which
/// evaluates to `outcome`.
#[allow(clippy::too_many_arguments)]
fn retry_loop(
    sig: &Signature,
    body: &Group,
    body_open: Span,
    outcome: Option<&Type>,
    ret_span: Span,
    config: &Config,
    bindings: &Bindings,
) -> TokenStream {
    let krate = &config.crate_path;
    let private = quote!(#krate::__private);

    // Mixed-site names: the user's code can neither see nor shadow them.
    let call = generated("__vta_call");
    let outcome_name = generated("__vta_outcome");
    let wait = generated("__vta_wait");
    let function = sig.ident.to_string();

    let (attempts_item, policy) = policy_tokens(sig, config, &private);
    // Each attempt starts from the arguments as passed: `mut` ones are rebound first.
    let fresh = fresh_arguments(sig, bindings, &private);
    let (per_attempt, touched) = (&fresh.per_attempt, &fresh.before_loop);
    let body = &if fresh.renames_self {
        regroup(body, rename_self(body.stream()))
    } else {
        body.clone()
    };
    let (holds_vta_key, needs_vta_sdk) = vta_key(config, outcome, &private);
    let start = if holds_vta_key {
        quote!(#private::Call::start_keyed)
    } else {
        quote!(#private::Call::start)
    };
    // The error type, where the return type names it (not through `impl Trait`).
    let error_type = outcome
        .filter(|ty| !mentions_infer(ty.to_token_stream()))
        .map(|ty| respan(quote!(<#ty as #private::RetryOutcome>::Error), ty.span()));

    let after_attempt = after_attempt_tokens(
        config,
        &private,
        &policy,
        &function,
        ret_span,
        error_type.as_ref(),
    );

    // The body runs in an `async` block, which turns `return` and `?` into the end of one
    // attempt. The `async` keyword is spanned at the body, so a body that moves an owned argument
    // is reported at the user's code, and rustc's only suggestion is to clone it there.
    //
    let fake_return = outcome.map(|ty| fake_return_edge(ty, ret_span));
    let reports_elapsed = config.on_retry.is_some();
    let outcome_type = outcome.map(|ty| quote!(: #ty));
    let conversion = timeout_conversion(
        sig,
        config,
        &private,
        outcome,
        error_type.as_ref(),
        ret_span,
        &policy,
    );
    // A body that can neither suspend nor leave early runs in place, with the attempt's context
    // published around it: no future of its own to build and poll. It cannot be cut by a
    // timeout, having nothing to wait on, and the typed `let` gives every exit (there is one)
    // the declared type.
    if runs_in_place(body.stream(), &owned_arguments(sig)) {
        // Checked all the same, so that the function compiles whatever its body awaits.
        let conversion = conversion.map(|conversion| match conversion {
            TimeoutConversion::Converter(to_error) => quote!(let _ = #to_error;),
            TimeoutConversion::NoTimeout(assertion) => quote!(#assertion;),
        });
        let fresh_body = regroup(body, quote!(#per_attempt #body));
        let retry_loop = in_place_loop(
            &private,
            &start,
            &policy,
            reports_elapsed,
            outcome_type.as_ref(),
            &function,
            &fresh_body,
            &after_attempt,
        );
        let retry_loop = held(retry_loop, holds_vta_key, &private);
        return quote! {
            #attempts_item
            #needs_vta_sdk
            #conversion
            #touched
            #retry_loop
        };
    }
    let statements = body.stream();
    let mut block = Group::new(
        Delimiter::Brace,
        quote!(#fake_return #per_attempt #statements),
    );
    // At the opening brace only: an error about the attempt as a whole (a moved argument) points
    // there rather than underlining the whole body.
    block.set_span(body_open);
    let future = quote_spanned!(body_open=> async #block);

    let attempt = attempt_tokens(sig, &private, &policy, conversion.as_ref(), &future);

    let retry_loop = quote! {
        let mut #call = #start(#policy, #reports_elapsed);
        loop {
            let #wait = {
                let #outcome_name #outcome_type = #attempt.await;
                match #after_attempt {
                    ::core::option::Option::Some(#wait) => #wait,
                    ::core::option::Option::None => return #outcome_name,
                }
            };
            // By value: a borrowed `wait` would be stored in the future across the await.
            if #private::must_wait(#wait) {
                #private::sleep(#wait).await;
            } else {
                #private::breathe().await;
            }
        }
    };
    let retry_loop = held(retry_loop, holds_vta_key, &private);
    quote! {
        #attempts_item
        #needs_vta_sdk
        #touched
        #retry_loop
    }
}

/// The retry loop, run under one VTA idempotency key when the call holds one: in an `async`
/// block of its own (its `return`s end the block), which the runtime runs inside vta-sdk's
/// key scope.
fn held(retry_loop: TokenStream, holds_vta_key: bool, private: &TokenStream) -> TokenStream {
    if holds_vta_key {
        quote!(#private::hold_vta_key(async { #retry_loop }).await)
    } else {
        retry_loop
    }
}

/// Whether the call holds one VTA idempotency key across its attempts: asked for, or implied by
/// the error type, `VtaError`; and, for `vta_key = true`, the check that the runtime has vta-sdk.
fn vta_key(
    config: &Config,
    outcome: Option<&Type>,
    private: &TokenStream,
) -> (bool, Option<TokenStream>) {
    match config.vta_key {
        Some((true, span)) => {
            let private = respan(private.clone(), span);
            let check = quote_spanned!(span=> #private::vta_key_needs_vta_sdk::<()>(););
            (true, Some(check))
        }
        Some((false, _)) => (false, None),
        None => (outcome.is_some_and(names_vta_error), None),
    }
}

/// Whether `outcome` is `Result<_, VtaError>` (however `Result` and `VtaError` are reached):
/// the error type whose calls hold one VTA idempotency key unless `vta_key = false`.
fn names_vta_error(outcome: &Type) -> bool {
    let Type::Path(path) = outcome else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    let error = args.args.iter().nth(1);
    matches!(error, Some(syn::GenericArgument::Type(Type::Path(error)))
        if error.path.segments.last().is_some_and(|segment| segment.ident == "VtaError"))
}

/// The fake return edge: it ties the attempt's output to the declared type before the body is
/// read, so that every exit of the body is checked against it: `Ok(Box::new(x))` coerces to
/// `Result<Box<dyn Trait>, E>`, and `?` knows which error to convert into.
fn fake_return_edge(outcome: &Type, ret_span: Span) -> TokenStream {
    let fake = generated("__vta_declared");
    quote_spanned! {ret_span=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #fake: #outcome = loop {};
            return #fake;
        }
    }
}

/// `tokens` in braces at `body`'s place.
fn regroup(body: &Group, tokens: TokenStream) -> Group {
    let mut group = Group::new(Delimiter::Brace, tokens);
    group.set_span(body.span());
    group
}

/// The loop of a body that runs in place (see [`runs_in_place`]), with the attempt's context
/// published around it.
#[allow(clippy::too_many_arguments)]
fn in_place_loop(
    private: &TokenStream,
    start: &TokenStream,
    policy: &TokenStream,
    reports_elapsed: bool,
    outcome_type: Option<&TokenStream>,
    function: &str,
    body: &Group,
    after_attempt: &TokenStream,
) -> TokenStream {
    let call = generated("__vta_call");
    let outcome_name = generated("__vta_outcome");
    let wait = generated("__vta_wait");
    let in_place = generated("__vta_in_place");
    let parked = generated("__vta_parked");
    // The call's state is a local of the attempt's block, parked in the future only on the
    // way to a retry: a local that was borrowed is kept in the future until its scope ends,
    // so one scoped to the whole loop would be written to the future on every call.
    quote! {
        let mut #parked: ::core::option::Option<#private::Call> = ::core::option::Option::None;
        loop {
            let #wait = {
                let mut #call = match #parked {
                    ::core::option::Option::Some(#call) => #call,
                    ::core::option::Option::None => #start(#policy, #reports_elapsed),
                };
                let #outcome_name #outcome_type = {
                    let #in_place = #private::InPlace::enter(&mut #call, #function, #policy);
                    #[allow(unused_braces)]
                    let #outcome_name #outcome_type = #body;
                    #[allow(unreachable_code)]
                    #in_place.leave(&mut #call);
                    #outcome_name
                };
                match #after_attempt {
                    ::core::option::Option::Some(#wait) => {
                        #parked = ::core::option::Option::Some(#call);
                        #wait
                    }
                    ::core::option::Option::None => return #outcome_name,
                }
            };
            if #private::must_wait(#wait) {
                #private::sleep(#wait).await;
            } else {
                #private::breathe().await;
            }
        }
    }
}

/// The call after an attempt, which asks the runtime whether to retry: `Some(wait)` or `None`.
fn after_attempt_tokens(
    config: &Config,
    private: &TokenStream,
    policy: &TokenStream,
    function: &str,
    ret_span: Span,
    error_type: Option<&TokenStream>,
) -> TokenStream {
    let call = generated("__vta_call");
    // Spanned at the return type, so "needs `Result<T, E>`", "not `Retryable`" and "`timeout`
    // needs `From<TimedOut>`" point at the type the user wrote rather than at the attribute.
    // The braces around the outcome matter: rustc blames an argument at its own span, and a
    // bare mixed-site name would lead it back to the attribute. (The name is located at the
    // return type too, or rustc's `unused_braces` would take the braces for the user's.)
    let callee_private = respan(private.clone(), ret_span);
    let outcome_at_ret = Ident::new("__vta_outcome", Span::mixed_site().located_at(ret_span));
    let on_retry = match &config.on_retry {
        None => respan(quote!(#private::no_hook), ret_span),
        // A closure is passed straight to the `FnOnce(&E, &RetryEvent)` bound, which infers its
        // parameters' types.
        Some(closure @ Expr::Closure(_)) => closure.to_token_stream(),
        // A path is coerced to the function pointer it must be, so that a function of another
        // signature is a plain type mismatch at the path.
        Some(path) => coerced(
            path,
            error_type,
            HookKey::OnRetry,
            private,
            |error| quote!(fn(&#error, &#private::RetryEvent<'static>)),
        ),
    };
    let describe = quote_spanned!(ret_span=> #callee_private::describer!(&#outcome_at_ret));
    let hints = quote_spanned!(ret_span=> #callee_private::hints!(&#outcome_at_ret));
    match &config.retry_if {
        // A closure is passed straight to a `FnOnce(&E) -> bool` bound, which infers its
        // parameter's type.
        Some(closure @ Expr::Closure(_)) => quote_spanned! {ret_span=>
            #callee_private::after_attempt_if(#policy, &mut #call, #function, { &#outcome_at_ret }, #closure, #hints, #on_retry, #describe)
        },
        // A path is coerced to the function pointer it must be (passed straight to the bound,
        // rustc would suggest wrapping it in a closure that cannot compile).
        Some(path) => {
            let retry_if = coerced(
                path,
                error_type,
                HookKey::RetryIf,
                private,
                |error| quote!(fn(&#error) -> bool),
            );
            quote_spanned! {ret_span=>
                #callee_private::after_attempt_if(#policy, &mut #call, #function, { &#outcome_at_ret }, #retry_if, #hints, #on_retry, #describe)
            }
        }
        None => quote_spanned! {ret_span=>
            #callee_private::after_attempt(#policy, &mut #call, #function, { &#outcome_at_ret }, #on_retry, #describe)
        },
    }
}

/// Whether a body can run in place: it has no `.await` (its context could not be withdrawn while
/// it is suspended), and cannot leave early (`return`, `?`, `break`, `continue`, `yield`), which in
/// place would leave the function or the loop rather than end the attempt. A macro call may hide
/// any of them, so a body with one is not run in place either; nor is a body that names an
/// argument it might move (`owned`), for which rustc's advice is better in an `async` block.
fn runs_in_place(tokens: TokenStream, owned: &[Ident]) -> bool {
    let mut previous_was_ident = false;
    let mut after_bang = false;
    for tree in tokens {
        let macro_call = after_bang && matches!(&tree, TokenTree::Group(_));
        after_bang = false;
        let in_place = match &tree {
            TokenTree::Ident(ident) => {
                !["await", "return", "break", "continue", "yield"]
                    .iter()
                    .any(|keyword| ident == keyword)
                    && !owned.contains(ident)
            }
            TokenTree::Punct(punct) if punct.as_char() == '?' => false,
            TokenTree::Punct(punct) if punct.as_char() == '!' => {
                after_bang = previous_was_ident;
                true
            }
            TokenTree::Group(group) => !macro_call && runs_in_place(group.stream(), owned),
            TokenTree::Punct(_) | TokenTree::Literal(_) => true,
        };
        if !in_place {
            return false;
        }
        previous_was_ident = matches!(tree, TokenTree::Ident(_));
    }
    true
}

/// The names of the arguments that a body could move: every one bound by value, except those of a
/// primitive type, which are `Copy`. (`self` by value included.)
fn owned_arguments(sig: &Signature) -> Vec<Ident> {
    fn copied(ty: &Type) -> bool {
        const PRIMITIVES: [&str; 16] = [
            "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
            "i128", "isize", "f32", "f64",
        ];
        match ty {
            // A reference is reborrowed where it is used; moving it is rare.
            Type::Reference(_) => true,
            Type::Path(path) => {
                path.qself.is_none()
                    && path
                        .path
                        .get_ident()
                        .is_some_and(|ident| PRIMITIVES.iter().any(|primitive| ident == primitive))
            }
            Type::Paren(paren) => copied(&paren.elem),
            Type::Tuple(tuple) => tuple.elems.iter().all(copied),
            _ => false,
        }
    }
    fn names(tokens: TokenStream, into: &mut Vec<Ident>) {
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) => into.push(ident),
                TokenTree::Group(group) => names(group.stream(), into),
                _ => {}
            }
        }
    }
    let mut owned = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(receiver) => match &receiver.kind {
                syn::ReceiverKind::Reference(..) => {}
                syn::ReceiverKind::Typed(_, ty) if copied(ty) => {}
                _ => owned.push(Ident::new("self", Span::call_site())),
            },
            syn::FnArg::Typed(typed) if copied(&typed.ty) => {}
            syn::FnArg::Typed(typed) => names(typed.pat.to_token_stream(), &mut owned),
        }
    }
    owned
}

/// One attempt's future: the body bounded by the timeout only where one can be set, so that a
/// function without one carries no timer.
fn attempt_tokens(
    sig: &Signature,
    private: &TokenStream,
    policy: &TokenStream,
    conversion: Option<&TimeoutConversion>,
    future: &TokenStream,
) -> TokenStream {
    let call = generated("__vta_call");
    let function = sig.ident.to_string();
    match conversion {
        Some(TimeoutConversion::Converter(to_error)) => {
            quote!(#private::Attempt::limited(&mut #call, #function, #policy, #to_error, #future))
        }
        Some(TimeoutConversion::NoTimeout(assertion)) => {
            quote!({ #assertion; #private::Attempt::new(&mut #call, #function, #policy, #future) })
        }
        None => quote!(#private::Attempt::new(&mut #call, #function, #policy, #future)),
    }
}

/// How a cut attempt becomes the function's error, where a timeout may be set.
enum TimeoutConversion {
    /// An expression of type `Option<fn(TimedOut) -> E>`, which checks the conversion.
    Converter(TokenStream),
    /// A `const` assertion that the policy sets no timeout, where the error type cannot be named
    /// from an item.
    NoTimeout(TokenStream),
}

/// The conversion a timeout needs, where one can be set: by the attribute's `timeout` key
/// (checked at the return type), or by a named policy (found by the compiler, and an error only
/// if that policy does set a timeout).
fn timeout_conversion(
    sig: &Signature,
    config: &Config,
    private: &TokenStream,
    outcome: Option<&Type>,
    error_type: Option<&TokenStream>,
    ret_span: Span,
    policy: &TokenStream,
) -> Option<TimeoutConversion> {
    if config.timeout.is_some() {
        let ret = outcome.map_or_else(|| quote!(_), ToTokens::to_token_stream);
        return Some(TimeoutConversion::Converter(respan(
            quote!(#private::timed_out_error::<#ret>()),
            ret_span,
        )));
    }
    let path = config.policy.as_ref()?;
    if let (true, Some(error)) = (names_no_generics(path, sig), error_type) {
        // The policy's timeout is known only to the compiler: the conversion is found if the
        // error type has one, and its absence is an error only if the policy cuts.
        return Some(TimeoutConversion::Converter(quote!(
            #private::timeout_converter!(#error, #policy.timeout().is_some())
        )));
    }
    Some(TimeoutConversion::NoTimeout(quote_spanned! {path.span()=>
        const {
            ::core::assert!(
                #policy.timeout().is_none(),
                "this policy sets a `timeout`: name the policy without `Self` or generic parameters, or set `timeout = …` on the attribute"
            )
        }
    }))
}

/// The policy as a constant at its one use (a `let` would be stored in the future across every
/// await): the base policy, `policy = …` or `Policy::DEFAULT`, with each key the attribute sets.
/// Also the item that checks a `const` attempt count, when there is one.
fn policy_tokens(
    sig: &Signature,
    config: &Config,
    private: &TokenStream,
) -> (Option<TokenStream>, TokenStream) {
    // A named policy goes through a typed `let`, so that a path to anything but a `Policy` is a
    // type mismatch at the path.
    let base = if let Some(path) = &config.policy {
        let policy_type = respan(quote!(#private::Policy), path.span());
        quote_spanned! {path.span()=> { let base: #policy_type = #path; base } }
    } else {
        quote!(#private::Policy::DEFAULT)
    };
    let mut overrides = Vec::new();
    let mut attempts_item = None;
    match &config.attempts {
        Some(AttemptCount::Literal(attempts)) => overrides.push(quote!(.with_attempts(#attempts))),
        // A `const` path is checked where it is written: an integer, at least 1. Where an item
        // can name it, the check is an item, which `cargo check` evaluates; an inline `const`
        // (needed where the path names `Self` or a generic parameter) is evaluated only when the
        // function is built.
        Some(AttemptCount::Const(path)) => {
            let checking = respan(private.clone(), path.span());
            let checked = quote_spanned! {path.span()=>
                {
                    #checking::attempts_must_be_an_integer(&#path);
                    #checking::attempts_from_const(#path as i128)
                }
            };
            if names_no_generics(path, sig) {
                let item = generated("__VTA_ATTEMPTS");
                attempts_item = Some(quote!(const #item: u32 = #checked;));
                overrides.push(quote!(.with_attempts(#item)));
            } else {
                overrides.push(quote!(.with_attempts(#checked)));
            }
        }
        None => {}
    }
    if let Some((first, max)) = config.backoff {
        let (first, max) = (duration_tokens(first), duration_tokens(max));
        overrides.push(quote!(.with_backoff(#private::Backoff::exponential(#first, #max))));
    }
    if let Some(jitter) = config.jitter {
        let jitter = match jitter {
            JitterKind::None => quote!(None),
            JitterKind::Full => quote!(Full),
            JitterKind::Equal => quote!(Equal),
        };
        overrides.push(quote!(.with_jitter(#private::Jitter::#jitter)));
    }
    for (setter, value) in [
        ("with_timeout", config.timeout),
        ("with_max_elapsed", config.max_elapsed),
        ("with_max_hint", config.max_hint),
    ] {
        if let Some(value) = value {
            let setter = Ident::new(setter, Span::call_site());
            let value = duration_tokens(value);
            overrides.push(quote!(.#setter(#value)));
        }
    }
    // By reference to the `static`, through a `static` of the expansion's own: a `const` (a new
    // budget at every use, which would never throttle) is an error that suggests a `static`, and
    // a path to anything else is a type mismatch at the path. Where an item cannot name it
    // (`Self::BUDGET`), the reference is taken in place.
    if let Some(budget) = &config.budget {
        let span = budget.span();
        if names_no_generics(budget, sig) {
            let item = generated("__VTA_BUDGET");
            let budget_type = respan(quote!(#private::RetryBudget), span);
            let items = attempts_item.get_or_insert_with(TokenStream::new);
            items.extend(quote_spanned! {span=>
                static #item: &#budget_type = &#budget;
            });
            overrides.push(quote!(.with_budget(#item)));
        } else {
            let reference = quote_spanned!(span=> &#budget);
            overrides.push(quote!(.with_budget(#reference)));
        }
    }
    (attempts_item, quote!(const { #base #(#overrides)* }))
}

/// A path to a function, coerced to the function pointer type `signature(error)`, so that a
/// function of another signature is a type mismatch at the path, naming both types. Where the
/// error type is hidden behind `impl Trait`, the path as it is.
///
/// A function that takes the error by value gets an error of its own that says the error is
/// passed by reference, found by the runtime's `SignatureProbe`; any other mismatch is left to
/// the coercion.
fn coerced(
    path: &Expr,
    error: Option<&TokenStream>,
    key: HookKey,
    private: &TokenStream,
    signature: impl FnOnce(&TokenStream) -> TokenStream,
) -> TokenStream {
    let Some(error) = error else {
        return path.to_token_stream();
    };
    let name = generated("__vta_function");
    let signature = respan(signature(error), path.span());
    let private = respan(private.clone(), path.span());
    let (method, function) = match key {
        HookKey::RetryIf => (quote!(retry_if), quote!(retry_if_function)),
        HookKey::OnRetry => (quote!(on_retry), quote!(on_retry_function)),
    };
    quote_spanned! {path.span()=>
        {
            #[allow(unused_imports)]
            use #private::{FunctionAsWritten as _, OnRetryByValue as _, RetryIfByValue as _};
            let #name: #signature = #private::#function::<#error, _>(
                (&&#private::SignatureProbe::<#error, _>::of(&#path)).#method(#path),
            );
            #name
        }
    }
}

/// The key a function path is given to.
#[derive(Clone, Copy)]
enum HookKey {
    RetryIf,
    OnRetry,
}

/// The body's leading inner attributes (`#![allow(…)]`), which belong at the top of the
/// function's block, and the body without them.
fn split_inner_attributes(body: &Group) -> (Vec<TokenStream>, Group) {
    let trees: Vec<TokenTree> = body.stream().into_iter().collect();
    let mut inner = Vec::new();
    let mut rest = trees.as_slice();
    while let [
        TokenTree::Punct(pound),
        TokenTree::Punct(bang),
        TokenTree::Group(attr),
        tail @ ..,
    ] = rest
    {
        if pound.as_char() != '#' || bang.as_char() != '!' || attr.delimiter() != Delimiter::Bracket
        {
            break;
        }
        inner.push(rest[..3].iter().cloned().collect());
        rest = tail;
    }
    let mut stripped = Group::new(Delimiter::Brace, rest.iter().cloned().collect());
    stripped.set_span(body.span());
    (inner, stripped)
}

/// `#[tracing::instrument]` above `#[vta_retry]` has moved the arguments into a future of its
/// own (`let __tracing_instrument_future = async move { … }`), which a second attempt could not
/// build again. Without `move` it borrows them instead, as the retry loop's own attempt does, so
/// `&mut self` is re-borrowed each attempt; nothing else about the span changes.
fn release_instrument_captures(body: Group) -> Group {
    let trees: Vec<TokenTree> = body.stream().into_iter().collect();
    let Some(at) = trees.windows(5).position(|w| {
        matches!(w, [
            TokenTree::Ident(let_),
            TokenTree::Ident(name),
            TokenTree::Punct(eq),
            TokenTree::Ident(async_),
            TokenTree::Ident(move_),
        ] if let_ == "let"
            && name == "__tracing_instrument_future"
            && eq.as_char() == '='
            && async_ == "async"
            && move_ == "move")
    }) else {
        return body;
    };
    let released: TokenStream = trees[..at + 4]
        .iter()
        .chain(&trees[at + 5..])
        .cloned()
        .collect();
    let mut released = Group::new(Delimiter::Brace, released);
    released.set_span(body.span());
    released
}

/// The type with every `impl Trait` replaced by `_`: a `let` cannot name `impl Trait`, but can
/// still fix the rest of the type (`Result<_, io::Error>`), which is what `?` needs to know.
fn erase_impl_trait(mut ty: Type) -> Type {
    fn erase(ty: &mut Type) {
        match ty {
            Type::ImplTrait(impl_trait) => {
                *ty = syn::parse_quote_spanned!(impl_trait.impl_token.span=> _);
            }
            Type::Path(path) => {
                if let Some(qself) = &mut path.qself {
                    erase(&mut qself.ty);
                }
                for segment in &mut path.path.segments {
                    if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                        for arg in &mut args.args {
                            match arg {
                                syn::GenericArgument::Type(ty) => erase(ty),
                                syn::GenericArgument::AssocType(assoc) => erase(&mut assoc.ty),
                                _ => {}
                            }
                        }
                    }
                }
            }
            Type::Reference(reference) => erase(&mut reference.elem),
            Type::Ptr(pointer) => erase(&mut pointer.elem),
            Type::Slice(slice) => erase(&mut slice.elem),
            Type::Array(array) => erase(&mut array.elem),
            Type::Paren(paren) => erase(&mut paren.elem),
            Type::Group(group) => erase(&mut group.elem),
            Type::Tuple(tuple) => tuple.elems.iter_mut().for_each(erase),
            _ => {}
        }
    }
    erase(&mut ty);
    ty
}

/// Whether `tokens` hold a `_`, as a type with `impl Trait` erased does.
fn mentions_infer(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "_",
        TokenTree::Punct(punct) => punct.as_char() == '_',
        TokenTree::Group(group) => mentions_infer(group.stream()),
        TokenTree::Literal(_) => false,
    })
}

/// Whether `path` can be named from an item inside the function: it does not start with `Self`,
/// a qualified `<T as Trait>`, or one of the function's generic parameters.
fn names_no_generics(path: &ExprPath, sig: &Signature) -> bool {
    let Some(first) = path.path.segments.first() else {
        return false;
    };
    let generic = sig.generics.params.iter().any(|param| match param {
        syn::GenericParam::Type(ty) => ty.ident == first.ident,
        syn::GenericParam::Const(constant) => constant.ident == first.ident,
        syn::GenericParam::Lifetime(_) => false,
    });
    path.qself.is_none() && first.ident != "Self" && first.ident != "self" && !generic
}

fn duration_tokens(duration: Duration) -> TokenStream {
    let secs = duration.as_secs();
    let nanos = duration.subsec_nanos();
    quote!(::core::time::Duration::new(#secs, #nanos))
}

#[cfg(test)]
mod tests {
    use super::{owned_arguments, runs_in_place};
    use quote::quote;
    use syn::Signature;

    fn in_place(sig: &Signature, body: proc_macro2::TokenStream) -> bool {
        runs_in_place(body, &owned_arguments(sig))
    }

    #[test]
    fn a_body_that_only_evaluates_runs_in_place() {
        let sig: Signature = syn::parse_quote!(async fn f(&self, client: &Client, n: u64));
        assert!(in_place(&sig, quote! { client.create_key(n) }));
        assert!(in_place(&sig, quote! { let x = a != b; Ok(!x) }));
        assert!(in_place(
            &sig,
            quote! { self.store.get(n).map(|v| v * 2).ok_or(Missing) }
        ));
        assert!(in_place(
            &sig,
            quote! { if n > 1 { Ok(n) } else { Err(Error) } }
        ));
    }

    #[test]
    fn a_body_that_may_suspend_or_leave_early_runs_in_an_async_block() {
        let sig: Signature = syn::parse_quote!(async fn f(client: &Client));
        for body in [
            quote! { client.create_key().await },
            quote! { return Ok(1) },
            quote! { let v = call()?; Ok(v) },
            quote! { if x { Ok(f(y)?) } else { Ok(0) } },
            quote! { anyhow::bail!("no") },
            quote! { tracing::info!("x"); Ok(1) },
            quote! { while true { break } Ok(1) },
            quote! { for x in y { continue } Ok(1) },
        ] {
            assert!(!in_place(&sig, body.clone()), "{body}");
        }
    }

    #[test]
    fn a_body_that_names_an_argument_it_could_move_runs_in_an_async_block() {
        let by_value: Signature =
            syn::parse_quote!(async fn f(self, label: String, (a, b): (u8, Id)));
        for body in [
            quote! { self.call() },
            quote! { consume(label) },
            quote! { Ok(b) },
        ] {
            assert!(!in_place(&by_value, body.clone()), "{body}");
        }
        let copied: Signature =
            syn::parse_quote!(async fn f(n: u64, pair: (u8, bool), r: &mut Client));
        assert!(in_place(&copied, quote! { r.send(n, pair) }));
    }
}
