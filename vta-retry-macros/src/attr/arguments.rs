//! Arguments as passed: each attempt starts from the arguments the caller passed, as each call of
//! the function would without the attribute.
//!
//! A `mut` argument taken by value is the one a body can change, and the change would otherwise
//! carry into the next attempt (`url.push_str("?format=json")` twice). So each attempt rebinds it
//! from the untouched original, before the body runs:
//!
//! ```text
//! // Input:
//! async fn get(mut url: String, mut n: u32, mut buf: &mut [u8], (mut a, b): (Id, u8)) { BODY }
//!
//! // Output, at the start of every attempt:
//! let mut url = fresh_argument(&url);   // a clone: `Clone` is required, at the argument
//! let mut n = fresh_argument(&n);       // a copy
//! let mut buf = &mut *buf;              // a reborrow: reslicing it changes only this one
//! let mut a = fresh_argument(&a);
//! BODY
//! ```
//!
//! A pinned mutable reference (`pin: Pin<&mut T>`, `self: Pin<&mut Self>`), `mut` or not, is
//! reborrowed with `Pin::as_mut`, so that a body may consume it (`get_mut()`, passing it on) on
//! every attempt; one that is not `mut` is first moved into a `mut` local before the loop.
//!
//! A `ref mut` binding in a pattern (`(ref mut list, n): (Vec<u8>, u8)`) changes the argument
//! through a reference, so it is given a fresh copy to point at: `let list = &mut
//! fresh_argument(&*list);`.
//!
//! A mutable reference without `mut` (`&mut self`, `conn: &mut Conn`) is held whole by each
//! attempt, `let conn = &mut *conn;`: an `async` block that borrowed only the fields its body
//! reads would hold `&` to them, asking them to be `Sync` for the future to be `Send`, which the
//! plain function does not ask.
//!
//! `mut self` cannot be rebound by `let`, so the body's `self` becomes `__vta_self` (what
//! `#[async_trait]` does for the same reason), as it does for a held `&mut self`. Under
//! `#[async_trait]`, which takes `mut` off the signature and rebinds the arguments in `let`s of
//! its own (`let mut path = path;`, `let __self = self;`), those are the bindings rebound.
//! Other arguments without `mut` are left alone, and cost nothing.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Pat, ReceiverKind, Signature, Type};

use crate::tokens::respan;

/// Where the `mut` arguments are bound.
pub enum Bindings {
    /// In the signature, as written: an `async fn`, or a `fn` returning an `async` block.
    Signature,
    /// By the `let`s `#[async_trait]` puts before the body (`let mut path = path;`,
    /// `let mut __self = self;`), having taken `mut` off the signature.
    AsyncTrait(Vec<(Ident, MutBinding)>),
}

/// Rebinding the `mut` arguments.
pub struct Fresh {
    /// The statements that start each attempt.
    pub per_attempt: TokenStream,
    /// The statements that go once, before the loop: `let _ = &mut name;`. The originals are
    /// no longer changed, and rustc would otherwise ask for the `mut` the user wrote to go.
    pub before_loop: TokenStream,
    /// Whether the body's `self` must be renamed (see [`rename_self`]).
    pub renames_self: bool,
}

/// How each `mut` argument is rebound at the start of an attempt.
pub fn fresh_arguments(sig: &Signature, bindings: &Bindings, private: &TokenStream) -> Fresh {
    let mut fresh = Fresh {
        per_attempt: TokenStream::new(),
        before_loop: TokenStream::new(),
        renames_self: false,
    };
    if let Bindings::AsyncTrait(names) = bindings {
        for (name, binding) in names {
            fresh.rebind_binding(name, *binding, private);
        }
        // `#[async_trait]` bound `self` as `__self`, and the other arguments by their names.
        for (name, span) in held_mut_references(sig) {
            let name = name.unwrap_or_else(|| Ident::new("__self", Span::call_site()));
            fresh.hold_reborrow(&name, &name.to_token_stream(), span);
        }
        return fresh;
    }
    for (name, span) in held_mut_references(sig) {
        let original = if let Some(name) = &name {
            name.to_token_stream()
        } else {
            fresh.renames_self = true;
            quote!(self)
        };
        let name = name.unwrap_or_else(renamed_self);
        fresh.hold_reborrow(&name, &original, span);
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                let declared = match &receiver.kind {
                    ReceiverKind::Reference(..) => continue,
                    ReceiverKind::Typed(_, ty) => Some(&**ty),
                    _ => None,
                };
                if receiver.mutability.is_none() && declared.is_some_and(is_mut_reference) {
                    // `self: &mut Self`, held by `held_mut_references`.
                    continue;
                }
                let self_token = receiver.self_token.to_token_stream();
                let renamed = renamed_self();
                if declared.is_some_and(is_pinned_mut) {
                    // `self: Pin<&mut Self>`, `mut` or not; a `let` cannot bind `self`, so the
                    // original is moved into a mutable local first when it is not `mut`.
                    fresh.renames_self = true;
                    let original = if receiver.mutability.is_some() {
                        self_token
                    } else {
                        let pinned = Ident::new("__vta_pinned_self", Span::call_site());
                        fresh.before_loop.extend(quote!(let mut #pinned = self;));
                        pinned.to_token_stream()
                    };
                    fresh.reborrow(&renamed, &original, receiver.span(), Reborrow::Pinned);
                    continue;
                }
                let Some(mutability) = receiver.mutability else {
                    continue;
                };
                fresh.renames_self = true;
                if declared.is_some_and(is_mut_reference) {
                    // `mut self: &mut Self`.
                    fresh.reborrow(&renamed, &self_token, receiver.span(), Reborrow::Reference);
                    continue;
                }
                let span = mutability
                    .span
                    .join(receiver.self_token.span)
                    .unwrap_or(mutability.span);
                let spans = Spans {
                    whole: span,
                    mut_token: mutability.span,
                };
                fresh.rebind(&renamed, &self_token, spans, private);
            }
            FnArg::Typed(typed) => match &*typed.pat {
                // `mut buf: &mut T`: a reborrow, so that reassigning it changes only this attempt's.
                Pat::Ident(binding)
                    if binding.mutability.is_some()
                        && binding.by_ref.is_none()
                        && is_mut_reference(&typed.ty) =>
                {
                    let name = binding.ident.to_token_stream();
                    fresh.reborrow(&binding.ident, &name, typed.span(), Reborrow::Reference);
                }
                // `pin: Pin<&mut T>`, `mut` or not: reborrowed with `Pin::as_mut`, so that a
                // body may consume it (`get_mut()`, passing it on) on every attempt.
                Pat::Ident(binding) if binding.by_ref.is_none() && is_pinned_mut(&typed.ty) => {
                    let name = &binding.ident;
                    if binding.mutability.is_none() {
                        fresh.before_loop.extend(quote_spanned! {typed.span()=>
                            #[allow(unused_mut)]
                            let mut #name = #name;
                        });
                    }
                    let original = name.to_token_stream();
                    fresh.reborrow(name, &original, typed.span(), Reborrow::Pinned);
                }
                pattern => {
                    for (name, binding) in mut_bindings(pattern) {
                        fresh.rebind_binding(&name, binding, private);
                    }
                }
            },
        }
    }
    fresh
}

impl Fresh {
    /// `let mut name = fresh_argument(&original);`, spanned at the argument so that a missing
    /// `Clone` is reported there.
    ///
    /// The `mut` is the user's own token, so that a `mut` the body does not need is reported
    /// there, as it would be without the attribute; dropping it saves a clone per attempt.
    fn rebind(&mut self, name: &Ident, original: &TokenStream, span: Spans, private: &TokenStream) {
        let Spans {
            whole: span,
            mut_token,
        } = span;
        let private = respan(private.clone(), span);
        let mut_token = syn::Token![mut](mut_token);
        self.per_attempt.extend(quote_spanned! {span=>
            let #mut_token #name = #private::fresh_argument(&#original);
        });
        self.before_loop.extend(quote!(let _ = &mut #original;));
    }

    /// `let mut name = &mut *original;` (or `Pin::as_mut(&mut original)`): the attempt's own
    /// reborrow of a mutable reference, so that reassigning or consuming it changes nothing the
    /// next attempt sees.
    fn reborrow(&mut self, name: &Ident, original: &TokenStream, span: Span, kind: Reborrow) {
        let reborrowed = match kind {
            Reborrow::Reference => quote_spanned!(span=> &mut *#original),
            Reborrow::Pinned => quote_spanned!(span=> ::core::pin::Pin::as_mut(&mut #original)),
        };
        self.per_attempt.extend(quote_spanned! {span=>
            #[allow(unused_mut)]
            let mut #name = #reborrowed;
        });
        self.before_loop.extend(quote!(let _ = &mut #original;));
    }

    /// `let name = &mut *original;` at the start of an attempt, for a mutable reference that is
    /// not `mut`: the attempt's future then holds the reference itself, not a borrow of it or of
    /// the fields the body reads, so it is `Send` whenever the referent is, as the plain
    /// function's is (a shared borrow of a field would ask the field to be `Sync`).
    fn hold_reborrow(&mut self, name: &Ident, original: &TokenStream, span: Span) {
        self.per_attempt.extend(quote_spanned! {span=>
            #[allow(unused_variables)]
            let #name = &mut *#original;
        });
    }

    /// Rebinds one binding a pattern makes: `mut name` as [`Fresh::rebind`] does, `ref mut name`
    /// to a fresh copy of what it points at.
    fn rebind_binding(&mut self, name: &Ident, binding: MutBinding, private: &TokenStream) {
        match binding {
            MutBinding::ByValue(spans) => {
                self.rebind(name, &name.to_token_stream(), spans, private);
            }
            MutBinding::ByRefMut(span) => {
                let private = respan(private.clone(), span);
                self.per_attempt.extend(quote_spanned! {span=>
                    let #name = &mut #private::fresh_argument(&*#name);
                });
            }
        }
    }
}

/// Where a `mut` binding is written: the whole of it (`mut url`), and its `mut`.
#[derive(Debug, Clone, Copy)]
pub struct Spans {
    whole: Span,
    mut_token: Span,
}

/// How an argument that is a mutable reference is reborrowed.
#[derive(Debug, Clone, Copy)]
enum Reborrow {
    /// `&mut T`, by `&mut *`.
    Reference,
    /// `Pin<&mut T>`, by `Pin::as_mut`.
    Pinned,
}

/// The arguments that are mutable references bound without `mut` (`&mut self`,
/// `self: &mut Self`, `conn: &mut Conn`), which each attempt holds by [`Fresh::hold_reborrow`]:
/// their names, `None` for `self`, and their spans.
fn held_mut_references(sig: &Signature) -> Vec<(Option<Ident>, Span)> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Receiver(receiver) => {
                let mutable_reference = match &receiver.kind {
                    ReceiverKind::Reference(_, _, mutability) => mutability.is_some(),
                    ReceiverKind::Typed(_, ty) => {
                        receiver.mutability.is_none() && is_mut_reference(ty)
                    }
                    _ => false,
                };
                mutable_reference.then(|| (None, receiver.span()))
            }
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(binding)
                    if binding.mutability.is_none()
                        && binding.by_ref.is_none()
                        && binding.subpat.is_none()
                        && is_mut_reference(&typed.ty) =>
                {
                    Some((Some(binding.ident.clone()), binding.ident.span()))
                }
                _ => None,
            },
        })
        .collect()
}

/// Whether the type is `&mut T`.
fn is_mut_reference(ty: &Type) -> bool {
    matches!(ty, Type::Reference(reference) if reference.mutability.is_some())
}

/// Whether the type is `Pin<&mut T>`, however `Pin` is reached.
fn is_pinned_mut(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return false;
    };
    last.ident == "Pin"
        && arguments.args.len() == 1
        && matches!(arguments.args.first(), Some(syn::GenericArgument::Type(pointer)) if is_mut_reference(pointer))
}

/// A binding through which the body can change an argument, with its span.
#[derive(Debug, Clone, Copy)]
pub enum MutBinding {
    /// `mut name`: the argument's own value.
    ByValue(Spans),
    /// `ref mut name`: a reference into the argument.
    ByRefMut(Span),
}

/// The `mut` bindings of the `let`s `#[async_trait]` put before the body: the arguments it
/// moved into its future. Its `let mut __self = self;` for a `&mut self` rebinds a reference,
/// which each attempt reborrows already.
pub fn async_trait_bindings(statements: &[syn::Stmt], sig: &Signature) -> Vec<(Ident, MutBinding)> {
    let self_is_a_reference = sig.inputs.iter().any(|input| {
        matches!(input, FnArg::Receiver(receiver) if matches!(receiver.kind, ReceiverKind::Reference(..)))
    });
    statements
        .iter()
        .filter_map(|statement| match statement {
            syn::Stmt::Local(local) => Some(mut_bindings(&local.pat)),
            _ => None,
        })
        .flatten()
        .filter(|(name, _)| !(self_is_a_reference && name == "__self"))
        .collect()
}

/// The names a pattern binds as `mut` or `ref mut`, with their spans.
fn mut_bindings(pattern: &Pat) -> Vec<(Ident, MutBinding)> {
    fn walk(pattern: &Pat, found: &mut Vec<(Ident, MutBinding)>) {
        match pattern {
            Pat::Ident(binding) => {
                if let Some(mutability) = binding.mutability {
                    let first = binding.by_ref.map_or(mutability.span, |by_ref| by_ref.span);
                    let span = first.join(binding.ident.span()).unwrap_or(first);
                    found.push((
                        binding.ident.clone(),
                        if binding.by_ref.is_some() {
                            MutBinding::ByRefMut(span)
                        } else {
                            MutBinding::ByValue(Spans {
                                whole: span,
                                mut_token: mutability.span,
                            })
                        },
                    ));
                }
                if let Some((_, sub)) = &binding.subpat {
                    walk(sub, found);
                }
            }
            Pat::Tuple(tuple) => tuple.elems.iter().for_each(|p| walk(p, found)),
            Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|p| walk(p, found)),
            Pat::Struct(fields) => fields.fields.iter().for_each(|f| walk(&f.pat, found)),
            Pat::Slice(slice) => slice.elems.iter().for_each(|p| walk(p, found)),
            Pat::Paren(paren) => walk(&paren.pat, found),
            Pat::Reference(reference) => walk(&reference.pat, found),
            Pat::Type(typed) => walk(&typed.pat, found),
            Pat::Or(or) => {
                if let Some(first) = or.cases.first() {
                    walk(first, found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(pattern, &mut found);
    found
}

/// The name the body's `self` takes when `mut self` is rebound each attempt.
fn renamed_self() -> Ident {
    Ident::new("__vta_self", Span::call_site())
}

/// The body with its `self` renamed, for a `mut self` rebound each attempt. `self::path` keeps
/// its meaning, and items declared inside the body (`fn`, `impl`, `trait`) keep their own `self`.
pub fn rename_self(body: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = body.into_iter().collect();
    let mut renamed = Vec::with_capacity(trees.len());
    // Inside a nested item's header, and its next `{ … }`, `self` is that item's.
    let mut in_item = false;
    for (i, tree) in trees.iter().enumerate() {
        let next_is_path = matches!(
            (trees.get(i + 1), trees.get(i + 2)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':'
        );
        let tree = match tree {
            TokenTree::Ident(ident) if ["fn", "impl", "trait"].iter().any(|k| ident == k) => {
                in_item = true;
                tree.clone()
            }
            TokenTree::Ident(ident) if ident == "self" && !in_item && !next_is_path => {
                TokenTree::Ident(Ident::new(
                    "__vta_self",
                    ident.span().resolved_at(Span::call_site()),
                ))
            }
            TokenTree::Group(group) if in_item => {
                if group.delimiter() == Delimiter::Brace {
                    in_item = false;
                }
                tree.clone()
            }
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), rename_self(group.stream()));
                inner.set_span(group.span());
                TokenTree::Group(inner)
            }
            other => other.clone(),
        };
        renamed.push(tree);
    }
    renamed.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn rebound(sig: TokenStream) -> String {
        let sig: Signature = syn::parse2(sig).unwrap_or_else(|e| panic!("{e}"));
        fresh_arguments(&sig, &Bindings::Signature, &quote!(rt))
            .per_attempt
            .to_string()
    }

    #[test]
    fn only_mut_arguments_are_rebound() {
        let text = rebound(quote!(async fn f(a: String, mut b: String, c: &mut u8, mut d: u32)));
        assert!(!text.contains("let mut a"), "{text}");
        assert!(!text.contains("let mut c"), "{text}");
        assert!(
            text.contains("let mut b = rt :: fresh_argument (& b)"),
            "{text}"
        );
        assert!(
            text.contains("let mut d = rt :: fresh_argument (& d)"),
            "{text}"
        );
    }

    #[test]
    fn a_mut_reference_is_reborrowed_and_patterns_are_walked() {
        let text =
            rebound(quote!(async fn f(mut buf: &mut [u8], (mut a, b): (Id, u8), &mut c: &mut u8)));
        assert!(text.contains("let mut buf = & mut * buf"), "{text}");
        assert!(
            text.contains("let mut a = rt :: fresh_argument (& a)"),
            "{text}"
        );
        assert!(!text.contains("let mut b ="), "{text}");
        assert!(!text.contains("let mut c ="), "{text}");
    }

    #[test]
    fn pinned_mutable_references_are_reborrowed_with_as_mut() {
        let text = rebound(quote!(async fn f(pin: Pin<&mut u8>, mut other: std::pin::Pin<&mut T>)));
        assert!(
            text.contains("let mut pin = :: core :: pin :: Pin :: as_mut (& mut pin)"),
            "{text}"
        );
        assert!(
            text.contains("let mut other = :: core :: pin :: Pin :: as_mut (& mut other)"),
            "{text}"
        );
        let sig: Signature = syn::parse_quote!(async fn f(self: Pin<&mut Self>));
        let fresh = fresh_arguments(&sig, &Bindings::Signature, &quote!(rt));
        assert!(fresh.renames_self);
        assert!(
            fresh
                .before_loop
                .to_string()
                .starts_with("let mut __vta_pinned_self = self ;"),
            "{}",
            fresh.before_loop
        );
        assert!(
            fresh.per_attempt.to_string().contains(
                "let mut __vta_self = :: core :: pin :: Pin :: as_mut (& mut __vta_pinned_self)"
            ),
            "{}",
            fresh.per_attempt
        );
        // A pinned box is owned: a `mut` one is cloned, as any owned argument is.
        let text = rebound(quote!(async fn f(mut boxed: Pin<Box<u8>>)));
        assert!(text.contains("fresh_argument (& boxed)"), "{text}");
    }

    #[test]
    fn a_mutable_reference_without_mut_is_held_by_each_attempt() {
        for receiver in [
            quote!(&mut self),
            quote!(&'a mut self),
            quote!(self: &mut Self),
        ] {
            let sig: Signature = syn::parse_quote!(async fn f(#receiver, n: u8));
            let fresh = fresh_arguments(&sig, &Bindings::Signature, &quote!(rt));
            assert!(fresh.renames_self, "{receiver}");
            let per_attempt = fresh.per_attempt.to_string();
            assert!(
                per_attempt.contains("let __vta_self = & mut * self ;"),
                "{receiver}: {per_attempt}"
            );
        }
        let text = rebound(quote!(async fn f(conn: &mut Conn, shared: &Conn, owned: Conn)));
        assert!(text.contains("let conn = & mut * conn ;"), "{text}");
        assert!(!text.contains("shared"), "{text}");
        assert!(!text.contains("owned"), "{text}");
        // Under `#[async_trait]`, whose `let`s bind `self` as `__self`.
        let sig: Signature = syn::parse_quote!(fn f(&mut self, conn: &mut Conn));
        let fresh = fresh_arguments(&sig, &Bindings::AsyncTrait(Vec::new()), &quote!(rt));
        let per_attempt = fresh.per_attempt.to_string();
        assert!(!fresh.renames_self);
        assert!(
            per_attempt.contains("let __self = & mut * __self ;")
                && per_attempt.contains("let conn = & mut * conn ;"),
            "{per_attempt}"
        );
    }

    #[test]
    fn a_ref_mut_binding_points_at_a_fresh_copy() {
        let text = rebound(quote!(async fn f((ref mut list, ref n): (Vec<u8>, u8))));
        assert!(
            text.contains("let list = & mut rt :: fresh_argument (& * list)"),
            "{text}"
        );
        assert!(!text.contains("let n"), "{text}");
    }

    #[test]
    fn mut_self_by_value_is_renamed_in_the_body() {
        let sig: Signature = syn::parse_quote!(async fn f(mut self, n: u8));
        let fresh = fresh_arguments(&sig, &Bindings::Signature, &quote!(rt));
        assert!(fresh.renames_self);
        let per_attempt = fresh.per_attempt.to_string();
        assert!(
            per_attempt.contains("let mut __vta_self = rt :: fresh_argument (& self)"),
            "{per_attempt}"
        );
        assert_eq!(fresh.before_loop.to_string(), "let _ = & mut self ;");
        let sig: Signature = syn::parse_quote!(async fn f(&self));
        assert!(!fresh_arguments(&sig, &Bindings::Signature, &quote!(rt)).renames_self);
        let body = rename_self(quote! {
            self.push(self::X);
            let f = |n| self.len() + n;
            fn helper(&self) -> u8 { self.0 }
            self.done()
        })
        .to_string();
        assert_eq!(
            body,
            "__vta_self . push (self :: X) ; let f = | n | __vta_self . len () + n ; \
             fn helper (& self) -> u8 { self . 0 } __vta_self . done ()"
        );
    }
}
