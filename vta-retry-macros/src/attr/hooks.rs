//! The calls the expansion writes around an attempt, typed where the user's types are known: the
//! attempt's future with its bound, and the call after it that asks the runtime whether to retry,
//! with the classifier, the hook and how an error is written.
//!
//! ```text
//! // Input:  #[vta_retry(retry_if = is_transient, on_retry = log, timeout = "1s")]
//! // Output: Attempt::limited(&mut call, "f", POLICY, timed_out_error::<Result<T, E>>(), async { … })
//! //         after_attempt_if(POLICY, &mut call, Function::annotated("f", series!("f")), { &outcome },
//! //                          retry_if_function::<E, _>(probe(is_transient)),  // fn(&E) -> bool
//! //                          log as fn(&E, &RetryEvent),
//! //                          Reading::new(hints!(&outcome), describer!(&outcome)))
//! ```
//!
//! Each is spanned where a mistake would be the user's: the return type for "needs a
//! `Result`" and "not `Retryable`", the path for a function of the wrong signature.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::Expr;
use syn::spanned::Spanned;

use super::expand::Expansion;
use super::policy::names_no_generics;
use crate::tokens::{generated, respan};

/// The call after an attempt, which asks the runtime whether to retry: `Some(wait)` or `None`.
pub(super) fn after_attempt(expansion: &Expansion<'_>) -> TokenStream {
    let Expansion {
        config,
        private,
        function,
        ret_span,
        ..
    } = expansion;
    let ret_span = *ret_span;
    let policy = &expansion.policy.value;
    let error_type = expansion.error_type.as_ref();
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
    let reading = quote_spanned!(ret_span=> #callee_private::Reading::new(#hints, #describe));
    let function = quote!(#private::Function::annotated(#function, #private::series!(#function)));
    match &config.retry_if {
        // A closure is passed straight to a `FnOnce(&E) -> bool` bound, which infers its
        // parameter's type.
        Some(closure @ Expr::Closure(_)) => quote_spanned! {ret_span=>
            #callee_private::after_attempt_if(#policy, &mut #call, #function, { &#outcome_at_ret }, #closure, #on_retry, #reading)
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
                #callee_private::after_attempt_if(#policy, &mut #call, #function, { &#outcome_at_ret }, #retry_if, #on_retry, #reading)
            }
        }
        None => quote_spanned! {ret_span=>
            #callee_private::after_attempt(#policy, &mut #call, #function, { &#outcome_at_ret }, #on_retry, #describe)
        },
    }
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

/// One attempt's future: the body bounded by the timeout only where one can be set, so that a
/// function without one carries no timer.
pub(super) fn attempt(
    expansion: &Expansion<'_>,
    conversion: Option<&TimeoutConversion>,
    future: &TokenStream,
) -> TokenStream {
    let Expansion {
        private, function, ..
    } = expansion;
    let policy = &expansion.policy.value;
    let call = generated("__vta_call");
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
pub(super) enum TimeoutConversion {
    /// An expression of type `Option<fn(TimedOut) -> E>`, which checks the conversion.
    Converter(TokenStream),
    /// A `const` assertion that the policy sets no timeout, where the error type cannot be named
    /// from an item.
    NoTimeout(TokenStream),
}

impl TimeoutConversion {
    /// The check alone, as a statement: for a body run in place, which no timeout can cut, so
    /// that the function compiles whatever its body awaits.
    pub(super) fn checked(&self) -> TokenStream {
        match self {
            Self::Converter(to_error) => quote!(let _ = #to_error;),
            Self::NoTimeout(assertion) => quote!(#assertion;),
        }
    }
}

/// The conversion a timeout needs, where one can be set: by the attribute's `timeout` key
/// (checked at the return type), or by a named policy (found by the compiler, and an error only
/// if that policy does set a timeout).
pub(super) fn timeout_conversion(expansion: &Expansion<'_>) -> Option<TimeoutConversion> {
    let Expansion {
        sig,
        config,
        private,
        outcome,
        ret_span,
        ..
    } = expansion;
    let settings = &expansion.policy.settings;
    if config.timeout.is_some() {
        let ret = outcome.map_or_else(|| quote!(_), ToTokens::to_token_stream);
        return Some(TimeoutConversion::Converter(respan(
            quote!(#private::timed_out_error::<#ret>()),
            *ret_span,
        )));
    }
    let path = config.policy.as_ref()?;
    if let (true, Some(error)) = (names_no_generics(path, sig), &expansion.error_type) {
        // The policy's timeout is known only to the compiler: the conversion is found if the
        // error type has one, and its absence is an error only if the policy cuts.
        return Some(TimeoutConversion::Converter(quote!(
            #private::timeout_converter!(#error, #settings.timeout().is_some())
        )));
    }
    Some(TimeoutConversion::NoTimeout(quote_spanned! {path.span()=>
        const {
            ::core::assert!(
                #settings.timeout().is_none(),
                "this policy sets a `timeout`: name the policy without `Self` or generic parameters, or set `timeout = …` on the attribute"
            )
        }
    }))
}
