//! What the body's tokens say, and the rewrites made to them: its inner attributes, the
//! captures `#[tracing::instrument]` left, `impl Trait` erased from the declared type, the fake
//! return edge that ties the body to that type, and whether the body can run in place.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::{Signature, Type};

use crate::tokens::{FLOAT_TYPES, INTEGER_TYPES, generated};

/// The body's leading inner attributes (`#![allow(…)]`), which belong at the top of the
/// function's block, and the body without them.
pub(super) fn split_inner_attributes(body: &Group) -> (Vec<TokenStream>, Group) {
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
/// `&mut self` is re-borrowed each attempt; nothing else about the span changes. With `err` or
/// `ret`, that future awaits the body in a second `async move` block of its own, released too.
pub(super) fn release_instrument_captures(body: Group) -> Group {
    let trees: Vec<TokenTree> = body.stream().into_iter().collect();
    let Some(at) = trees.windows(3).position(|w| {
        matches!(w, [TokenTree::Ident(let_), TokenTree::Ident(name), TokenTree::Punct(eq)]
            if let_ == "let" && name == "__tracing_instrument_future" && eq.as_char() == '=')
    }) else {
        return body;
    };
    let Some((future, rest)) = async_move_block(&trees[at + 3..]) else {
        return body;
    };
    // With `err` or `ret`: `async move { match async move { BODY }.await { … } }`, or
    // `async move { let x = async move { BODY }.await; … }`.
    let inner: Vec<TokenTree> = future.stream().into_iter().collect();
    let awaited_at = match inner.as_slice() {
        [TokenTree::Ident(match_), ..] if match_ == "match" => 1,
        [
            TokenTree::Ident(let_),
            TokenTree::Ident(_),
            TokenTree::Punct(eq),
            ..,
        ] if let_ == "let" && eq.as_char() == '=' => 3,
        _ => inner.len(),
    };
    let awaited = inner.get(awaited_at..).and_then(async_move_block);
    let future = match awaited {
        Some((awaited, after)) if starts_with_await(after) => {
            let stream = inner[..awaited_at]
                .iter()
                .cloned()
                .chain(async_block(awaited))
                .chain(after.iter().cloned());
            let mut released = Group::new(Delimiter::Brace, stream.collect());
            released.set_span(future.span());
            released
        }
        _ => future.clone(),
    };
    let stream = trees[..at + 3]
        .iter()
        .cloned()
        .chain(async_block(&future))
        .chain(rest.iter().cloned());
    let mut released = Group::new(Delimiter::Brace, stream.collect());
    released.set_span(body.span());
    released
}

/// The block of the `async move { … }` that `trees` start with, and the trees after it.
fn async_move_block(trees: &[TokenTree]) -> Option<(&Group, &[TokenTree])> {
    match trees {
        [
            TokenTree::Ident(async_),
            TokenTree::Ident(move_),
            TokenTree::Group(block),
            rest @ ..,
        ] if async_ == "async" && move_ == "move" && block.delimiter() == Delimiter::Brace => {
            Some((block, rest))
        }
        _ => None,
    }
}

/// Whether `trees` start with `.await`.
fn starts_with_await(trees: &[TokenTree]) -> bool {
    matches!(trees, [TokenTree::Punct(dot), TokenTree::Ident(await_), ..]
        if dot.as_char() == '.' && await_ == "await")
}

/// `async { … }`, borrowing what it uses.
fn async_block(block: &Group) -> [TokenTree; 2] {
    [
        TokenTree::Ident(Ident::new("async", block.span())),
        TokenTree::Group(block.clone()),
    ]
}

/// The type with every `impl Trait` replaced by `_`: a `let` cannot name `impl Trait`, but can
/// still fix the rest of the type (`Result<_, io::Error>`), which is what `?` needs to know.
pub(super) fn erase_impl_trait(mut ty: Type) -> Type {
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
pub(super) fn mentions_infer(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "_",
        TokenTree::Punct(punct) => punct.as_char() == '_',
        TokenTree::Group(group) => mentions_infer(group.stream()),
        TokenTree::Literal(_) => false,
    })
}

/// The fake return edge: it ties the attempt's output to the declared type before the body is
/// read, so that every exit of the body is checked against it: `Ok(Box::new(x))` coerces to
/// `Result<Box<dyn Trait>, E>`, and `?` knows which error to convert into.
pub(super) fn fake_return_edge(outcome: &Type, ret_span: Span) -> TokenStream {
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
pub(super) fn regroup(body: &Group, tokens: TokenStream) -> Group {
    let mut group = Group::new(Delimiter::Brace, tokens);
    group.set_span(body.span());
    group
}

/// Whether a body can run in place, in a closure called at once rather than an `async` block
/// awaited: it has no `.await` (its context could not be withdrawn while it is suspended), and no
/// macro call, which may hide one; nor does it name an argument it might move (`owned`), for
/// which rustc's advice is better in an `async` block. `return` and `?` end the closure, as they
/// end the attempt.
pub(super) fn runs_in_place(tokens: TokenStream, owned: &[Ident]) -> bool {
    let mut previous_was_ident = false;
    let mut after_bang = false;
    for tree in tokens {
        let macro_call = after_bang && matches!(&tree, TokenTree::Group(_));
        after_bang = false;
        let in_place = match &tree {
            TokenTree::Ident(ident) => {
                ident != "await" && ident != "yield" && !owned.contains(ident)
            }
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
pub(super) fn owned_arguments(sig: &Signature) -> Vec<Ident> {
    fn copied(ty: &Type) -> bool {
        match ty {
            // A reference is reborrowed where it is used; moving it is rare.
            Type::Reference(_) => true,
            Type::Path(path) => {
                path.qself.is_none()
                    && path.path.get_ident().is_some_and(|ident| {
                        ["bool", "char"]
                            .iter()
                            .chain(&INTEGER_TYPES)
                            .chain(&FLOAT_TYPES)
                            .any(|primitive| ident == primitive)
                    })
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

#[cfg(test)]
mod tests {
    use super::{owned_arguments, release_instrument_captures, runs_in_place};
    use proc_macro2::{Delimiter, Group};
    use quote::quote;
    use syn::Signature;

    fn in_place(sig: &Signature, body: proc_macro2::TokenStream) -> bool {
        runs_in_place(body, &owned_arguments(sig))
    }

    #[test]
    fn a_body_that_does_not_await_runs_in_place_leaving_early_or_not() {
        let sig: Signature = syn::parse_quote!(async fn f(&self, client: &Client, n: u64));
        for body in [
            quote! { client.create_key(n) },
            quote! { let x = a != b; Ok(!x) },
            quote! { self.store.get(n).map(|v| v * 2).ok_or(Missing) },
            quote! { if n > 1 { Ok(n) } else { Err(Error) } },
            quote! { if fails() { return Err(Error) } Ok(n) },
            quote! { let v = call()?; Ok(v) },
            quote! { for x in y { if x { break } else { continue } } Ok(1) },
        ] {
            assert!(in_place(&sig, body.clone()), "{body}");
        }
    }

    #[test]
    fn a_body_that_may_suspend_runs_in_an_async_block() {
        let sig: Signature = syn::parse_quote!(async fn f(client: &Client));
        for body in [
            quote! { client.create_key().await },
            quote! { let v = fetch().await?; Ok(v) },
            // A macro may hide an `.await`.
            quote! { anyhow::bail!("no") },
            quote! { tracing::info!("x"); Ok(1) },
            quote! { Ok(tokio::join!(a, b)) },
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

    #[test]
    fn instruments_futures_borrow_the_arguments_and_the_users_own_blocks_keep_move() {
        let released = |body: proc_macro2::TokenStream| {
            release_instrument_captures(Group::new(Delimiter::Brace, body))
                .stream()
                .to_string()
        };
        // Plain, `err`, and `err, ret`.
        assert_eq!(
            released(
                quote! { let __tracing_instrument_future = async move { spawn(async move { x }) }; f() }
            ),
            quote! { let __tracing_instrument_future = async { spawn(async move { x }) }; f() }
                .to_string()
        );
        assert_eq!(
            released(quote! { let __tracing_instrument_future = async move { match async move { x }.await { e => e } }; }),
            quote! { let __tracing_instrument_future = async { match async { x }.await { e => e } }; }.to_string()
        );
        assert_eq!(
            released(quote! { let __tracing_instrument_future = async move { let __match_scrutinee = async move { x }.await; y }; }),
            quote! { let __tracing_instrument_future = async { let __match_scrutinee = async { x }.await; y }; }.to_string()
        );
        let unrelated = quote! { let fut = async move { x }; fut.await };
        assert_eq!(released(unrelated.clone()), unrelated.to_string());
        // The user's body, under a plain `#[instrument]`, keeps its own `async move`.
        assert_eq!(
            released(quote! { let __tracing_instrument_future = async move { let f = async move { x }; spawn(f) }; }),
            quote! { let __tracing_instrument_future = async { let f = async move { x }; spawn(f) }; }.to_string()
        );
    }
}
