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

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprPath, ReturnType, Signature, Type};

use crate::parse::{Body, FutureBody, RetryFn};
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
            let retry_loop = retry_loop(&sig, &body, open, outcome.as_ref(), ret_span, config);
            // The function's braces are the user's, so that rustc's suggestions that wrap or
            // prefix the body land in the user's code, not on the attribute.
            let mut block = Group::new(Delimiter::Brace, quote!(#(#inner_attrs)* #retry_loop));
            block.set_span(body.span());
            quote!(#(#attrs)* #vis #sig #block)
        }
        Body::Future(future) => {
            let FutureBody { mut block, outcome } = *future;
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
                let retry_loop =
                    retry_loop(&sig, &body, open, Some(&outcome), outcome.span(), config);
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
fn retry_loop(
    sig: &Signature,
    body: &Group,
    body_open: Span,
    outcome: Option<&Type>,
    ret_span: Span,
    config: &Config,
) -> TokenStream {
    let krate = &config.crate_path;
    let private = quote!(#krate::__private);

    // Mixed-site names: the user's code can neither see nor shadow them.
    let attempt = generated("__vta_attempt");
    let outcome_name = generated("__vta_outcome");
    let wait = generated("__vta_wait");

    // A `const` path is checked where it is written: an integer, at least 1. Where an item can
    // name it, the check is an item, which `cargo check` evaluates; an inline `const` (needed
    // where the path names `Self` or a generic parameter) is evaluated only when the function is
    // built.
    let (attempts_item, attempts) = match &config.attempts {
        AttemptCount::Literal(attempts) => (None, quote!(#attempts)),
        AttemptCount::Const(path) => {
            let private = respan(private.clone(), path.span());
            let checked = quote_spanned! {path.span()=>
                {
                    #private::attempts_must_be_an_integer(&#path);
                    #private::attempts_from_const(#path as i128)
                }
            };
            if names_no_generics(path, sig) {
                let item = generated("__VTA_ATTEMPTS");
                (Some(quote!(const #item: u32 = #checked;)), quote!(#item))
            } else {
                (None, checked)
            }
        }
    };
    let first_wait = duration_tokens(config.first_wait);
    let max_wait = duration_tokens(config.max_wait);
    // A constant at its one use, not a `let`: a local would be stored in the future across
    // every await.
    let policy = quote! {
        const {
            #private::Policy::new(#attempts, #private::Backoff::exponential(#first_wait, #max_wait))
        }
    };

    let outcome_type = outcome.map(|ty| quote!(: #ty));

    // Spanned at the return type, so "needs `Result<T, E>`" and "not `Retryable`" point at the
    // type the user wrote rather than at the attribute. The braces around the argument matter:
    // rustc blames an argument at its own span, and a bare mixed-site name would lead it back
    // to the attribute. (The name is located at the return type too, or rustc's `unused_braces`
    // would take the braces for the user's.)
    let callee_private = respan(private.clone(), ret_span);
    let outcome_at_ret = Ident::new("__vta_outcome", Span::mixed_site().located_at(ret_span));
    let next_wait = match &config.retry_if {
        // A closure is passed straight to a `FnOnce(&E) -> bool` bound, which infers its
        // parameter's type.
        Some(closure @ Expr::Closure(_)) => quote_spanned! {ret_span=>
            #callee_private::next_wait_if(#policy, #attempt, { &#outcome_at_ret }, #closure)
        },
        // A path is coerced to the function pointer it must be, so that a function of another
        // signature is a plain type mismatch at the path, naming both types. (Passed straight to
        // the bound, rustc would suggest wrapping it in a closure that cannot compile.) Where the
        // return type hides its type behind `impl Trait`, the bound alone checks it.
        Some(path) => {
            let classifier = match outcome {
                Some(ty) if !mentions_infer(ty.to_token_stream()) => {
                    let name = generated("__vta_retry_if");
                    let error = respan(quote!(<#ty as #private::RetryOutcome>::Error), path.span());
                    quote_spanned! {path.span()=>
                        {
                            let #name: fn(&#error) -> bool = #path;
                            #name
                        }
                    }
                }
                _ => path.to_token_stream(),
            };
            quote_spanned! {ret_span=>
                #callee_private::next_wait_by(#policy, #attempt, { &#outcome_at_ret }, #classifier)
            }
        }
        None => quote_spanned! {ret_span=>
            #callee_private::next_wait(#policy, #attempt, { &#outcome_at_ret })
        },
    };
    // The body runs in an `async` block, which turns `return` and `?` into the end of one
    // attempt. The `async` keyword is spanned at the body, so a body that moves an owned argument
    // is reported at the user's code, and rustc's only suggestion is to clone it there.
    //
    // The fake return edge ties the block's output to the declared type before the body is
    // read, so that every exit of the body is checked against it: `Ok(Box::new(x))` coerces to
    // `Result<Box<dyn Trait>, E>`, and `?` knows which error to convert into.
    let fake_return = outcome.map(|ty| {
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
                let #fake: #ty = loop {};
                return #fake;
            }
        }
    });
    let statements = body.stream();
    let mut block = Group::new(Delimiter::Brace, quote!(#fake_return #statements));
    // At the opening brace only: an error about the attempt as a whole (a moved argument) points
    // there rather than underlining the whole body.
    block.set_span(body_open);
    let one_attempt = quote_spanned!(body_open=> async #block.await);

    quote! {
        #attempts_item
        let mut #attempt: u32 = 1;
        loop {
            let #wait = {
                let #outcome_name #outcome_type = #one_attempt;
                match #next_wait {
                    ::core::option::Option::Some(#wait) => #wait,
                    ::core::option::Option::None => return #outcome_name,
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
