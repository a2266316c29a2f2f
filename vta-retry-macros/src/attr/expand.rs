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
//!     let mut __vta_call: Call<C> = Call::start(POLICY);     // attempt 1; C: a clock, if needed
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
//!         pause(__vta_wait, ()).await;   // tokio's timer; for a zero wait, tokio's coop budget
//!     }
//! }
//! // where POLICY is `__VTA_POLICY`, an item before the loop,
//! // `const __VTA_POLICY: &Policy = &Policy::DEFAULT.with_attempts(3).with_timeout(5s);`
//! // (see `policy.rs`), and C the clock it needs.
//!
//! // A body with no `.await`, no macro call and no argument it could move runs in place instead,
//! // in a closure called at once (`return` and `?` end it), its context published around it:
//!     let mut __vta_carried: Call<C> = Call::start(POLICY);
//!     loop {
//!         let (__vta_wait, __vta_next) = {
//!             let mut __vta_call = __vta_carried;
//!             let __vta_outcome: Result<T, E> = {
//!                 let guard = InPlace::enter(&mut __vta_call, "f", POLICY);  // publishes
//!                 let __vta_outcome: Result<T, E> = (|| -> Result<T, E> { BODY })();
//!                 guard.leave(&mut __vta_call);                            // withdraws
//!                 __vta_outcome
//!             };
//!             match after_attempt(..) {
//!                 Some(wait) => (wait, __vta_call),
//!                 None => return __vta_outcome,
//!             }
//!         };
//!         __vta_carried = pause(__vta_wait, __vta_next).await;   // carries the call across
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
//! local would be stored in the future across every await); the call's clock is a type, zero
//! bytes where nothing needs it; the wait is passed by value and never borrowed; `sleep` is
//! tokio's timer itself.
//!
//! Everything the expansion needs about the function and its attribute is one [`Expansion`],
//! which the helpers of `hooks.rs` read.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{ReturnType, Signature, Type};

use super::arguments::{Bindings, Fresh, async_trait_bindings, fresh_arguments, rename_self};
use super::body::{
    erase_impl_trait, fake_return_edge, mentions_infer, owned_arguments, regroup,
    release_instrument_captures, runs_in_place, split_inner_attributes,
};
use super::function::{Body, FutureBody, RetryFn};
use super::hooks::{self, TimeoutConversion};
use super::policy::{PolicyTokens, policy_tokens};
use super::validate::Config;
use crate::tokens::{generated, respan};

/// What the expansion knows of the function and its attribute, read by every helper.
pub(super) struct Expansion<'a> {
    /// The function's signature, as written.
    pub sig: &'a Signature,
    /// The checked attribute.
    pub config: &'a Config,
    /// The runtime's private module: `::vta_retry_runtime::__private`, or as `crate = …` says.
    pub private: TokenStream,
    /// The function's name, as events, spans and metrics show it (`r#match` as `match`).
    pub function: String,
    /// The declared type of one attempt's outcome, `impl Trait` erased.
    pub outcome: Option<&'a Type>,
    /// Where the outcome's type is written: where its errors are reported.
    pub ret_span: Span,
    /// The error type, where the outcome's type names it (not through `impl Trait`).
    pub error_type: Option<TokenStream>,
    /// The policy, ready to write.
    pub policy: PolicyTokens,
}

impl<'a> Expansion<'a> {
    fn new(
        sig: &'a Signature,
        config: &'a Config,
        outcome: Option<&'a Type>,
        ret_span: Span,
    ) -> Self {
        let krate = &config.crate_path;
        let private = quote!(#krate::__private);
        let error_type = outcome
            .filter(|ty| !mentions_infer(ty.to_token_stream()))
            .map(|ty| respan(quote!(<#ty as #private::RetryOutcome>::Error), ty.span()));
        let policy = policy_tokens(sig, config, &private);
        Self {
            sig,
            config,
            function: sig.ident.unraw().to_string(),
            outcome,
            ret_span,
            error_type,
            policy,
            private,
        }
    }
}

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
            let expansion = Expansion::new(&sig, config, outcome.as_ref(), ret_span);
            let retry_loop = retry_loop(&expansion, &body, open, &Bindings::Signature);
            // The function's braces are the user's, so that rustc's suggestions that wrap or
            // prefix the body land in the user's code, not on the attribute.
            let mut block = Group::new(Delimiter::Brace, quote!(#(#inner_attrs)* #retry_loop));
            block.set_span(body.span());
            quote!(#(#attrs)* #vis #sig #block)
        }
        Body::Future(future) => {
            let FutureBody { mut block, outcome } = *future;
            let bindings = FutureBody::moved_in(&mut block).map_or(Bindings::Signature, |lets| {
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
                let expansion = Expansion::new(&sig, config, Some(&outcome), outcome.span());
                let retry_loop = retry_loop(&expansion, &body, open, &bindings);
                attempt.stmts = vec![syn::Stmt::Expr(syn::Expr::Verbatim(retry_loop), None)];
            }
            quote!(#(#attrs)* #vis #sig #block)
        }
        // Rejected by validation; never expanded.
        Body::Other(body) => quote!(#(#attrs)* #vis #sig #body),
    }
}

/// The statements of the retry loop around `body` (whose `{` is at `body_open`).
fn retry_loop(
    expansion: &Expansion<'_>,
    body: &Group,
    body_open: Span,
    bindings: &Bindings,
) -> TokenStream {
    let Expansion {
        sig,
        config,
        private,
        outcome,
        ..
    } = expansion;
    // Each attempt starts from the arguments as passed: `mut` ones are rebound first.
    let fresh = fresh_arguments(sig, bindings, private);
    let body = &if fresh.renames_self {
        regroup(body, rename_self(body.stream()))
    } else {
        body.clone()
    };
    let (holds_vta_key, needs_vta_sdk) = vta_key(config, *outcome, private);
    let conversion = hooks::timeout_conversion(expansion);
    let retry_loop = if runs_in_place(body.stream(), &owned_arguments(sig)) {
        in_place_loop(expansion, body, &fresh, holds_vta_key)
    } else {
        async_loop(
            expansion,
            body,
            body_open,
            &fresh,
            holds_vta_key,
            conversion.as_ref(),
        )
    };
    // A body run in place cannot be cut by a timeout, having nothing to wait on; its conversion
    // is checked all the same, so that the function compiles whatever its body awaits.
    let checked_conversion = runs_in_place(body.stream(), &owned_arguments(sig))
        .then(|| conversion.as_ref().map(TimeoutConversion::checked))
        .flatten();
    let retry_loop = held(retry_loop, holds_vta_key, private);
    let items = &expansion.policy.items;
    let touched = &fresh.before_loop;
    quote! {
        #items
        #needs_vta_sdk
        #checked_conversion
        #touched
        #retry_loop
    }
}

/// The loop of a body that may suspend: the body runs in an `async` block, which turns `return`
/// and `?` into the end of one attempt, awaited as an [`Attempt`](hooks::attempt) whose polls
/// carry the attempt's context.
fn async_loop(
    expansion: &Expansion<'_>,
    body: &Group,
    body_open: Span,
    fresh: &Fresh,
    holds_vta_key: bool,
    conversion: Option<&TimeoutConversion>,
) -> TokenStream {
    let Expansion {
        private,
        outcome,
        ret_span,
        ..
    } = expansion;
    let PolicyTokens {
        value: policy,
        clock,
        ..
    } = &expansion.policy;
    let (call, outcome_name, wait) = names();
    let start = start(private, holds_vta_key);
    let outcome_type = outcome.map(|ty| quote!(: #ty));
    let fake_return = outcome.map(|ty| fake_return_edge(ty, *ret_span));
    let per_attempt = &fresh.per_attempt;
    let statements = body.stream();
    // The `async` keyword is spanned at the body, so a body that moves an owned argument is
    // reported at the user's code, and rustc's only suggestion is to clone it there. At the
    // opening brace only: an error about the attempt as a whole points there rather than
    // underlining the whole body.
    let mut block = Group::new(
        Delimiter::Brace,
        quote!(#fake_return #per_attempt #statements),
    );
    block.set_span(body_open);
    let future = quote_spanned!(body_open=> async #block);
    let attempt = hooks::attempt(expansion, conversion, &future);
    let after_attempt = hooks::after_attempt(expansion);
    quote! {
        let mut #call: #private::Call<#clock> = #start(#policy);
        loop {
            let #wait = {
                let #outcome_name #outcome_type = #attempt.await;
                match #after_attempt {
                    ::core::option::Option::Some(#wait) => #wait,
                    ::core::option::Option::None => return #outcome_name,
                }
            };
            // One await for both kinds of wait; by value, as a borrowed `wait` would be stored
            // in the future across the await. The call's state, borrowed by the attempt, lives
            // in the future already: the pause carries nothing.
            #private::pause(#wait, ()).await;
        }
    }
}

/// The loop of a body that runs in place (see [`runs_in_place`]): in a closure called at once,
/// whose `return` and `?` end the attempt, with the attempt's context published around it. The
/// call's state is borrowed only by a local of the attempt's block (a local that was borrowed is
/// kept in the future until its scope ends, so one scoped to the whole loop would be written to
/// the future on every call); between attempts, it is handed to the pause, which carries it
/// across the wait and gives it back. Nothing of it is in the future on the success path, and no
/// `Option` is tested at the top of the loop.
fn in_place_loop(
    expansion: &Expansion<'_>,
    body: &Group,
    fresh: &Fresh,
    holds_vta_key: bool,
) -> TokenStream {
    let Expansion {
        private,
        function,
        outcome,
        ..
    } = expansion;
    let PolicyTokens {
        value: policy,
        clock,
        ..
    } = &expansion.policy;
    let (call, outcome_name, wait) = names();
    let start = start(private, holds_vta_key);
    let (carried, carried_out) = carried_names();
    let in_place = generated("__vta_in_place");
    let outcome_type = outcome.map(|ty| quote!(: #ty));
    let returns = outcome.map(|ty| quote!(-> #ty));
    let per_attempt = &fresh.per_attempt;
    let fresh_body = regroup(body, quote!(#per_attempt #body));
    let after_attempt = hooks::after_attempt(expansion);
    quote! {
        let mut #carried: #private::Call<#clock> = #start(#policy);
        loop {
            let (#wait, #carried_out) = {
                let mut #call: #private::Call<#clock> = #carried;
                let #outcome_name #outcome_type = {
                    let #in_place = #private::InPlace::enter(&mut #call, #function, #policy);
                    #[allow(unused_braces, clippy::redundant_closure_call)]
                    let #outcome_name #outcome_type = (|| #returns #fresh_body)();
                    #[allow(unreachable_code)]
                    #in_place.leave(&mut #call);
                    #outcome_name
                };
                match #after_attempt {
                    ::core::option::Option::Some(#wait) => (#wait, #call),
                    ::core::option::Option::None => return #outcome_name,
                }
            };
            #carried = #private::pause(#wait, #carried_out).await;
        }
    }
}

/// The loop's own names, mixed-site: the user's code can neither see nor shadow them.
fn names() -> (syn::Ident, syn::Ident, syn::Ident) {
    (
        generated("__vta_call"),
        generated("__vta_outcome"),
        generated("__vta_wait"),
    )
}

/// The call's state between attempts, and as the attempt's block hands it to the pause.
fn carried_names() -> (syn::Ident, syn::Ident) {
    (generated("__vta_carried"), generated("__vta_next"))
}

/// How the call starts: holding a VTA key or not.
fn start(private: &TokenStream, holds_vta_key: bool) -> TokenStream {
    if holds_vta_key {
        quote!(#private::Call::start_keyed)
    } else {
        quote!(#private::Call::start)
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
        None => match outcome {
            Some(outcome) if names_vta_error(outcome) => (true, None),
            // `VtaError` under a name the macro cannot see through would hold no key: the
            // compiler, which knows the type, refuses it (with vta-sdk; without, no probe). An
            // `impl Trait` in the outcome, which an expression cannot name, is not probed.
            Some(outcome) if !mentions_infer(outcome.to_token_stream()) => {
                let span = outcome.span();
                let private = respan(private.clone(), span);
                (
                    false,
                    Some(quote_spanned!(span=> #private::key_by_name!(#outcome);)),
                )
            }
            _ => (false, None),
        },
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
