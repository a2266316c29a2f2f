//! The expansion: the `Retryable` impl of a checked [`Input`]. It cannot fail; every mistake
//! was reported by `valid.rs` before it runs.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ExprPath, Path};

use super::ast::{Body, Classification, HintField, Input, Transience, Variant};
use crate::tokens::{generated_at, respan};

/// The `Retryable` impl of a checked derive.
pub fn expand(input: &Input) -> TokenStream {
    let Input {
        ident,
        generics,
        bounds,
        krate,
        body,
    } = input;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|clause| {
            clause
                .predicates
                .iter()
                .map(ToTokens::to_token_stream)
                .collect()
        })
        .unwrap_or_default();
    predicates.extend(bounds.iter().map(|ty| quote!(#ty: #krate::Retryable)));
    let where_clause = (!predicates.is_empty()).then(|| quote!(where #(#predicates),*));

    let is_transient = match body {
        Body::Struct(classification) => struct_is_transient(&classification.transience, krate),
        Body::Enum(variants) if variants.is_empty() => quote!(match *self {}),
        Body::Enum(variants) => {
            let arms = variants.iter().map(|variant| {
                let (pattern, body) = variant_is_transient(variant, krate);
                quote!(#pattern => #body,)
            });
            quote!(match self { #(#arms)* })
        }
    };
    let retry_after = body
        .classifications()
        .into_iter()
        .any(Classification::has_hint)
        .then(|| {
            let body = match body {
                Body::Struct(classification) => struct_retry_after(classification, krate),
                Body::Enum(variants) => {
                    let arms = variants.iter().map(|variant| {
                        let (pattern, body) = variant_retry_after(variant, krate);
                        quote!(#pattern => #body,)
                    });
                    quote!(match self { #(#arms)* })
                }
            };
            quote! {
                fn retry_after(&self) -> ::core::option::Option<::core::time::Duration> {
                    #body
                }
            }
        });
    let in_progress = delegated(body, "in_progress", krate);
    let key_reused = delegated(body, "idempotency_key_reused", krate);
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Retryable for #ident #ty_generics #where_clause {
            fn is_transient(&self) -> bool {
                #is_transient
            }
            #retry_after
            #in_progress
            #key_reused
        }
    }
}

/// A `fn method(&self) -> bool` of `Retryable` (`in_progress`, `idempotency_key_reused`) that a
/// delegating struct or variant answers from its field, and every other variant with `false`;
/// nothing when none delegates (the trait's default is `false`).
fn delegated(body: &Body, method: &str, krate: &Path) -> Option<TokenStream> {
    let method = Ident::new(method, Span::call_site());
    let body = match body {
        Body::Struct(classification) => match &classification.transience {
            Transience::Delegate(member, ty) => {
                quote_spanned!(ty.span()=> <#ty as #krate::Retryable>::#method(&self.#member))
            }
            _ => return None,
        },
        Body::Enum(variants) => {
            if !variants
                .iter()
                .any(|variant| variant.classification.transience.delegates())
            {
                return None;
            }
            let arms = variants.iter().filter_map(|variant| {
                let Transience::Delegate(member, ty) = &variant.classification.transience else {
                    return None;
                };
                let name = &variant.ident;
                let inner = generated_at("__vta_inner", ty.span());
                let call = quote_spanned!(ty.span()=> <#ty as #krate::Retryable>::#method(#inner));
                Some(quote!(Self::#name { #member: #inner, .. } => #call,))
            });
            quote! {
                #[allow(unreachable_patterns)]
                match self {
                    #(#arms)*
                    _ => false,
                }
            }
        }
    };
    Some(quote! {
        fn #method(&self) -> bool {
            #body
        }
    })
}

/// The body of a struct's `is_transient`.
fn struct_is_transient(transience: &Transience, krate: &Path) -> TokenStream {
    match transience {
        Transience::Never => quote!(false),
        Transience::Always => quote!(true),
        Transience::If(path) => call_transient_if(path),
        Transience::Delegate(member, ty) => {
            let inner = generated_at("__vta_inner", ty.span());
            quote_spanned! {ty.span()=>
                let #inner = &self.#member;
                <#ty as #krate::Retryable>::is_transient(#inner)
            }
        }
    }
}

/// The body of a struct's `retry_after`.
fn struct_retry_after(classification: &Classification, krate: &Path) -> TokenStream {
    match (&classification.transience, &classification.hint) {
        (Transience::Delegate(member, ty), _) => {
            let inner = generated_at("__vta_inner", ty.span());
            quote_spanned! {ty.span()=>
                let #inner = &self.#member;
                <#ty as #krate::Retryable>::retry_after(#inner)
            }
        }
        (_, Some(hint)) => {
            let value = generated_at("__vta_hint", hint.ty.span());
            let member = &hint.member;
            let body = hint_value(hint, &value);
            quote!(let #value = &self.#member; #body)
        }
        (_, None) => quote!(::core::option::Option::None),
    }
}

/// The arm of `is_transient` for one variant: its pattern, and its body.
fn variant_is_transient(variant: &Variant, krate: &Path) -> (TokenStream, TokenStream) {
    let name = &variant.ident;
    match &variant.classification.transience {
        Transience::Never => (quote!(Self::#name { .. }), quote!(false)),
        Transience::Always => (quote!(Self::#name { .. }), quote!(true)),
        Transience::If(path) => (quote!(Self::#name { .. }), call_transient_if(path)),
        Transience::Delegate(member, ty) => {
            let inner = generated_at("__vta_inner", ty.span());
            (
                quote!(Self::#name { #member: #inner, .. }),
                quote_spanned!(ty.span()=> <#ty as #krate::Retryable>::is_transient(#inner)),
            )
        }
    }
}

/// The arm of `retry_after` for one variant: its pattern, and its body.
fn variant_retry_after(variant: &Variant, krate: &Path) -> (TokenStream, TokenStream) {
    let name = &variant.ident;
    let classification = &variant.classification;
    match (&classification.transience, &classification.hint) {
        (Transience::Delegate(member, ty), _) => {
            let inner = generated_at("__vta_inner", ty.span());
            (
                quote!(Self::#name { #member: #inner, .. }),
                quote_spanned!(ty.span()=> <#ty as #krate::Retryable>::retry_after(#inner)),
            )
        }
        (_, Some(hint)) => {
            let value = generated_at("__vta_hint", hint.ty.span());
            let member = &hint.member;
            (
                quote!(Self::#name { #member: #value, .. }),
                hint_value(hint, &value),
            )
        }
        (_, None) => (
            quote!(Self::#name { .. }),
            quote!(::core::option::Option::None),
        ),
    }
}

/// The hint from `value`, a reference to the hint field: copied out, and wrapped in `Some` when
/// the field is a plain `Duration`. Spanned at the field's type, where a `Duration` of another
/// crate is reported.
fn hint_value(hint: &HintField, value: &Ident) -> TokenStream {
    if hint.optional {
        quote_spanned!(hint.ty.span()=> *#value)
    } else {
        quote_spanned!(hint.ty.span()=> ::core::option::Option::Some(*#value))
    }
}

/// `path(self)`, through a `let` that coerces the path to `fn(&Self) -> bool`, so that a
/// function of another signature is a plain type mismatch at the user's path, naming both types.
fn call_transient_if(path: &ExprPath) -> TokenStream {
    let span = path.span();
    let name = generated_at("__vta_transient_if", span);
    let signature = respan(quote!(fn(&Self) -> bool), span);
    quote_spanned! {span=>
        {
            let #name: #signature = #path;
            #name(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::valid::checked;
    use syn::DeriveInput;

    fn expansion(input: &DeriveInput) -> String {
        expand(&checked(input)).to_string()
    }

    #[test]
    fn generic_delegates_are_bounded_once_and_concrete_ones_not_at_all() {
        let checked = checked(&syn::parse_quote! {
            enum Wrapped<'a, E, F: Clone, const N: usize> where F: Send {
                #[retryable(delegate)]
                Inner(E),
                #[retryable(delegate)]
                Again { error: E },
                #[retryable(delegate)]
                Boxed(Box<F>),
                #[retryable(delegate)]
                Io(std::io::Error),
                #[retryable(delegate)]
                Borrowed(&'a Concrete<'a>),
                Fatal(F),
            }
        });
        let bounds: Vec<String> = checked
            .bounds
            .iter()
            .map(|ty| ty.to_token_stream().to_string())
            .collect();
        assert_eq!(bounds, ["E", "Box < F >"]);
        let expanded = expand(&checked).to_string();
        assert!(
            expanded.contains("where F : Send , E : :: vta_retry_runtime :: Retryable , Box < F > : :: vta_retry_runtime :: Retryable"),
            "{expanded}"
        );
        assert!(
            expanded.contains("impl < 'a , E , F : Clone , const N : usize >"),
            "{expanded}"
        );
    }

    #[test]
    fn retry_after_is_generated_only_when_something_has_a_hint() {
        let without = expansion(&syn::parse_quote! {
            enum E { #[retryable(transient)] A, B(u8), #[retryable(transient_if = f)] C }
        });
        assert!(!without.contains("retry_after"), "{without}");
        assert!(without.contains("Self :: A { .. } => true"), "{without}");
        assert!(without.contains("Self :: B { .. } => false"), "{without}");
        let with = expansion(&syn::parse_quote! {
            enum E { A(#[retryable(retry_after)] Duration), B { #[retryable(retry_after)] wait: Option<Duration> }, C }
        });
        assert!(with.contains("fn retry_after"), "{with}");
        assert!(with.contains("Self :: A { 0 : __vta_hint , .. } => :: core :: option :: Option :: Some (* __vta_hint)"), "{with}");
        assert!(
            with.contains("Self :: B { wait : __vta_hint , .. } => * __vta_hint"),
            "{with}"
        );
        assert!(
            with.contains("Self :: C { .. } => :: core :: option :: Option :: None"),
            "{with}"
        );
        let delegating = expansion(&syn::parse_quote! {
            struct S(#[source] std::io::Error);
        });
        assert!(
            !delegating.contains("retry_after"),
            "unmarked: {delegating}"
        );
        let delegating = expansion(&syn::parse_quote! {
            #[retryable(delegate)]
            struct S(std::io::Error);
        });
        assert!(
            delegating.contains(":: vta_retry_runtime :: Retryable > :: retry_after"),
            "{delegating}"
        );
    }

    #[test]
    fn structs_and_empty_enums_expand() {
        let unit = expansion(&syn::parse_quote! {
            #[retryable(transient)]
            #[retryable(crate = my::retry)]
            struct Busy;
        });
        assert!(
            unit.contains("impl my :: retry :: Retryable for Busy"),
            "{unit}"
        );
        assert!(
            unit.contains("fn is_transient (& self) -> bool { true }"),
            "{unit}"
        );
        let named = expansion(&syn::parse_quote! {
            #[retryable(transient_if = Self::retryable)]
            struct Http { status: u16, #[retryable(retry_after)] wait: Option<Duration> }
        });
        assert!(
            named.contains("let __vta_transient_if : fn (& Self) -> bool = Self :: retryable ;"),
            "{named}"
        );
        assert!(
            named.contains("let __vta_hint = & self . wait ; * __vta_hint"),
            "{named}"
        );
        let empty = expansion(&syn::parse_quote!(
            enum Never {}
        ));
        assert!(empty.contains("match * self { }"), "{empty}");
        assert!(!empty.contains("retry_after"), "{empty}");
    }
}
