//! The expansion: the user's function, re-emitted token for token, with its body run once per
//! attempt inside a loop. It cannot fail: everything that could go wrong was checked before.
//!
//! ```text
//! // Input:
//! #[vta_retry(attempts = 3, backoff = "500ms..1s")]
//! async fn f(client: &Client) -> Result<T, E> { BODY }
//!
//! // Output:
//! async fn f(client: &Client) -> Result<T, E> {
//!     let mut __vta_attempt: u32 = 1;
//!     loop {
//!         let __vta_wait = {
//!             // One attempt: `async { BODY }.await` when BODY can leave early (`return`, `?`,
//!             // `break`, `continue`, a macro call); otherwise `{ BODY }`, run in place.
//!             let __vta_outcome: Result<T, E> = async { BODY }.await;
//!             let policy = const { Policy::new(3, Backoff::exponential(500ms, 1s)) };
//!             match next_wait(policy, __vta_attempt, { &__vta_outcome }) {  // policy written inline
//!                 Some(wait) => wait,
//!                 None => return __vta_outcome,   // success, a permanent error, or the last attempt
//!             }
//!         };
//!         if must_wait(__vta_wait) {                                    // zero: retry at once
//!             sleep(__vta_wait).await;                                  // the wait: tokio's timer
//!         }
//!         __vta_attempt += 1;
//!     }
//! }
//! ```
//!
//! An `async` block, not a closure: `return` and `?` end the attempt, borrowed
//! arguments (`&mut self` included) are re-borrowed each time, nothing is boxed, and the future
//! stays `Send` whenever the body's is. The outcome is scoped so that it is dropped before the
//! sleep: a failed attempt's error is never held across an await.
//!
//! The future holds only what must survive an await: the arguments, the attempt number, and
//! either the attempt's future or tokio's `Sleep`. The policy is a constant passed straight to
//! `next_wait`, not a local (a local would be stored in the future, 40 bytes, across every
//! await); the wait is passed by value and never borrowed, so it is not stored either; and
//! `sleep` is tokio's timer itself, where an `async fn` around it would store the duration
//! twice beside the timer.

use std::time::Duration;

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::ReturnType;
use syn::spanned::Spanned;

use crate::parse::RetryFn;
use crate::validate::Config;

/// Rewrites `function` into its retry loop under the checked `config`.
pub fn expand(function: RetryFn, config: &Config) -> TokenStream {
    let RetryFn {
        attrs,
        vis,
        sig,
        body,
    } = function;
    let krate = &config.crate_path;
    let private = quote!(#krate::__private);

    // Mixed-site names: the user's code can neither see nor shadow them.
    let attempt = generated("__vta_attempt");
    let outcome = generated("__vta_outcome");
    let wait = generated("__vta_wait");

    let attempts = config.attempts;
    let first_wait = duration_tokens(config.first_wait);
    let max_wait = duration_tokens(config.max_wait);
    // A constant at its one use, not a `let`: a local would be stored in the future across
    // every await.
    let policy = quote! {
        const {
            #private::Policy::new(#attempts, #private::Backoff::exponential(#first_wait, #max_wait))
        }
    };

    let (ret_span, outcome_type) = match &sig.output {
        // `impl Trait` cannot be written in a `let`; the `return` below ties the type instead.
        ReturnType::Type(_, ty) if mentions_impl_trait(ty.to_token_stream()) => (ty.span(), None),
        ReturnType::Type(_, ty) => (ty.span(), Some(quote!(: #ty))),
        ReturnType::Default => (sig.paren_token.span.close(), None),
    };

    // Spanned at the return type, so "needs `Result<T, E>`" and "not `Retryable`" point at the
    // type the user wrote rather than at the attribute. The braces around the argument matter:
    // rustc blames an argument at its own span, and a bare mixed-site name would lead it back
    // to the attribute. (The name is located at the return type too, or rustc's `unused_braces`
    // would take the braces for the user's.)
    let callee_private = respan(private.clone(), ret_span);
    let outcome_at_ret = Ident::new("__vta_outcome", Span::mixed_site().located_at(ret_span));
    let next_wait = if let Some(retry_if) = &config.retry_if {
        quote_spanned! {ret_span=>
            #callee_private::next_wait_if(#policy, #attempt, { &#outcome_at_ret }, #retry_if)
        }
    } else {
        quote_spanned! {ret_span=>
            #callee_private::next_wait(#policy, #attempt, { &#outcome_at_ret })
        }
    };
    // A body that can leave early (`return`, `?`, a bare `break`/`continue`, or a macro that may
    // hide one) runs in an `async` block, which turns those into the end of one attempt. Any
    // other body runs in place as a plain block: the same behaviour, without a second coroutine
    // for rustc to check and for every call to initialise. The `async` keyword is spanned at the
    // body, so a body that moves an owned argument is reported at the user's code.
    let one_attempt = if can_leave_early(body.stream()) {
        quote_spanned!(body.span_open()=> async #body.await)
    } else {
        body.to_token_stream()
    };

    quote! {
        #(#attrs)*
        #vis #sig {
            let mut #attempt: u32 = 1;
            loop {
                let #wait = {
                    let #outcome #outcome_type = #one_attempt;
                    match #next_wait {
                        ::core::option::Option::Some(#wait) => #wait,
                        ::core::option::Option::None => return #outcome,
                    }
                };
                // By value: a borrowed `wait` would be stored in the future across the await.
                if #private::must_wait(#wait) {
                    #private::sleep(#wait).await;
                }
                #attempt += 1;
            }
        }
    }
}

fn generated(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

fn duration_tokens(duration: Duration) -> TokenStream {
    let secs = duration.as_secs();
    let nanos = duration.subsec_nanos();
    quote!(::core::time::Duration::new(#secs, #nanos))
}

/// The same tokens, each at `span`: for generated paths that an error may point at.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                tree = TokenTree::Group(respanned);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// Whether `tokens` hold anything that, run in place inside the retry loop, would leave the
/// attempt other than by its value: `return`, `?`, `break`, `continue`, or a macro call (which may
/// expand to any of them, as `anyhow::bail!` does). Conservative: a nested closure or `async`
/// block containing one still counts.
fn can_leave_early(tokens: TokenStream) -> bool {
    let mut previous_was_ident = false;
    let mut after_bang = false;
    for tree in tokens {
        let macro_call = after_bang && matches!(&tree, TokenTree::Group(_));
        after_bang = false;
        let leaves = match &tree {
            TokenTree::Ident(ident) => {
                ident == "return" || ident == "break" || ident == "continue" || ident == "yield"
            }
            TokenTree::Punct(punct) if punct.as_char() == '?' => true,
            TokenTree::Punct(punct) if punct.as_char() == '!' => {
                after_bang = previous_was_ident;
                false
            }
            TokenTree::Group(group) => macro_call || can_leave_early(group.stream()),
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        };
        if leaves {
            return true;
        }
        previous_was_ident = matches!(tree, TokenTree::Ident(_));
    }
    false
}

fn mentions_impl_trait(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl_trait(group.stream()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::can_leave_early;
    use quote::quote;

    #[test]
    fn a_body_that_only_evaluates_runs_in_place() {
        assert!(!can_leave_early(quote! { client.create_key(label).await }));
        assert!(!can_leave_early(quote! { let x = a != b; Ok(!x) }));
        assert!(!can_leave_early(
            quote! { loop_count(|x| x + 1).await.map(|v| v * 2) }
        ));
    }

    #[test]
    fn a_body_that_can_leave_early_runs_in_an_async_block() {
        assert!(can_leave_early(quote! { return Ok(1) }));
        assert!(can_leave_early(quote! { let v = call().await?; Ok(v) }));
        assert!(can_leave_early(
            quote! { if x { Ok(f(y)?) } else { Ok(0) } }
        ));
        assert!(can_leave_early(quote! { anyhow::bail!("no") }));
        assert!(can_leave_early(
            quote! { tracing::info!("x"); call().await }
        ));
        assert!(can_leave_early(quote! { while true { break } Ok(1) }));
        assert!(can_leave_early(quote! { for x in y { continue } Ok(1) }));
    }
}
