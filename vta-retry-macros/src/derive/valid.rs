//! Validation: every `#[retryable(...)]` key checked against where it stands and against the
//! others, and the type's shape checked against what the keys ask of it. Each mistake is reported
//! at its token and the checking goes on, so one derive reports all its mistakes at once; what
//! comes out is the [`Input`] that `expand.rs` turns into the impl.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Data, DeriveInput, Fields, Generics, Member, Path, Type};

use super::ast::{Body, Classification, HintField, Input, Transience, Variant};
use super::attr::{Key, Place, key_home, parse_attrs};
use crate::diagnostics::Errors;
use crate::runtime_path;
use crate::tokens::{FLOAT_TYPES, INTEGER_TYPES};

/// Checks the input, adding each mistake to `errors`. The [`Input`] returned is only expanded
/// when `errors` is still empty.
pub fn validate(input: &DeriveInput, errors: &mut Errors) -> Input {
    let (place, keyword) = match &input.data {
        Data::Enum(_) => (Place::Enum, "enum"),
        Data::Struct(_) => (Place::Struct, "struct"),
        Data::Union(_) => (Place::Struct, "union"),
    };
    let mut krate: Option<Path> = None;
    let mut markers = Vec::new();
    for key in parse_attrs(&input.attrs, place, errors) {
        match key {
            Key::Crate(span, path) => {
                if krate.is_some() {
                    errors.push(syn::Error::new(span, "`crate` is set more than once"));
                } else {
                    krate = Some(path);
                }
            }
            key => markers.push(key),
        }
    }
    let derived = DerivedType {
        keyword,
        name: &input.ident,
    };
    let body = match &input.data {
        Data::Struct(data) => {
            let classified = Classified {
                name: &input.ident,
                place: Place::Struct,
                derived,
            };
            Body::Struct(Box::new(classify(
                &markers,
                &data.fields,
                classified,
                errors,
            )))
        }
        Data::Enum(data) => {
            for key in &markers {
                errors.push(misplaced(key, Place::Enum, derived));
            }
            let variants = data.variants.iter().map(|variant| {
                let keys = parse_attrs(&variant.attrs, Place::Variant, errors);
                let classified = Classified {
                    name: &variant.ident,
                    place: Place::Variant,
                    derived,
                };
                Variant {
                    ident: variant.ident.clone(),
                    classification: classify(&keys, &variant.fields, classified, errors),
                }
            });
            Body::Enum(variants.collect())
        }
        Data::Union(data) => {
            errors.push(syn::Error::new(
                data.union_token.span,
                "`#[derive(Retryable)]` cannot classify a union: it cannot tell which field is set; \
                 implement `Retryable` by hand, or make it an enum",
            ));
            // Never expanded: the error above stops the derive.
            Body::Enum(Vec::new())
        }
    };
    Input {
        ident: input.ident.clone(),
        generics: input.generics.clone(),
        bounds: delegate_bounds(&input.generics, &body),
        krate: krate.unwrap_or_else(runtime_path::default_runtime_path),
        body,
    }
}

/// The type being derived, as messages name it: `enum StoreError`.
#[derive(Clone, Copy)]
struct DerivedType<'a> {
    /// `enum`, `struct` or `union`.
    keyword: &'static str,
    /// The type's name.
    name: &'a Ident,
}

impl std::fmt::Display for DerivedType<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.keyword, self.name)
    }
}

/// The struct or variant whose classification is being checked, as messages name it.
#[derive(Clone, Copy)]
struct Classified<'a> {
    /// The struct's or the variant's name.
    name: &'a Ident,
    /// [`Place::Struct`] or [`Place::Variant`].
    place: Place,
    /// The type it is, or is a variant of.
    derived: DerivedType<'a>,
}

impl Classified<'_> {
    /// `struct` or `variant`.
    const fn kind(self) -> &'static str {
        match self.place {
            Place::Variant => "variant",
            _ => "struct",
        }
    }
}

/// Checks one struct or variant: its markers (`keys`, from above it) and its fields' keys.
fn classify(
    keys: &[Key],
    fields: &Fields,
    classified: Classified,
    errors: &mut Errors,
) -> Classification {
    let name = classified.name;
    let mut marker: Option<&Key> = None;
    for key in keys {
        if !key.is_marker() {
            errors.push(misplaced(key, classified.place, classified.derived));
            continue;
        }
        match marker {
            None => marker = Some(key),
            Some(first) if first.name() == key.name() => errors.push(syn::Error::new(
                key.span(),
                format!("`{}` is set more than once on `{name}`", key.name()),
            )),
            Some(first) => errors.push(syn::Error::new(
                key.span(),
                format!(
                    "`{name}` is marked both `{}` and `{}`; keep one: `transient` (always retried), \
                     `transient_if = path` (a function decides) or `delegate` (its field decides)",
                    first.name(),
                    key.name(),
                ),
            )),
        }
    }
    let transience = match marker {
        None | Some(Key::RetryAfter(_) | Key::Crate(..)) => Transience::Never,
        Some(Key::Transient(_)) => Transience::Always,
        Some(Key::TransientIf(_, path)) => Transience::If(path.clone()),
        Some(Key::Delegate(span)) => match check_delegate(*span, fields, classified) {
            Ok((member, ty)) => Transience::Delegate(member, ty),
            Err(error) => {
                errors.push(error);
                Transience::Never
            }
        },
    };
    let delegates = matches!(marker, Some(Key::Delegate(_)));
    let hint = find_hint_field(fields, classified, delegates, errors);
    Classification { transience, hint }
}

/// `delegate` needs exactly one field, of a variant or a struct: the field and its type.
fn check_delegate(
    span: Span,
    fields: &Fields,
    classified: Classified,
) -> syn::Result<(Member, Type)> {
    let name = classified.name;
    let kind = classified.kind();
    let mut members = fields.members().zip(fields.iter());
    match (members.next(), fields.len()) {
        (Some((member, field)), 1) => Ok((member, field.ty.clone())),
        (_, 0) => Err(syn::Error::new(
            span,
            format!(
                "`delegate` needs a {kind} with one field to delegate to, and `{name}` has none; \
                 mark it `transient`, or leave it unmarked to never retry it"
            ),
        )),
        (_, count) => Err(syn::Error::new(
            span,
            format!(
                "`delegate` needs a {kind} with exactly one field to delegate to, and `{name}` has {count}; \
                 classify it with `transient_if = path` instead"
            ),
        )),
    }
}

/// Reads the fields' keys: at most one `retry_after`, on a `Duration` or `Option<Duration>`,
/// never beside `delegate`.
fn find_hint_field(
    fields: &Fields,
    classified: Classified,
    delegates: bool,
    errors: &mut Errors,
) -> Option<HintField> {
    let mut hint: Option<HintField> = None;
    let mut first: Option<Member> = None;
    for (member, field) in fields.members().zip(fields.iter()) {
        for key in parse_attrs(&field.attrs, Place::Field, errors) {
            let Key::RetryAfter(span) = key else {
                errors.push(misplaced_on_field(&key, classified));
                continue;
            };
            if delegates {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`retry_after` cannot stand beside `delegate`: `{}` takes its hint from the field it delegates to; \
                         remove `retry_after`",
                        classified.name
                    ),
                ));
                continue;
            }
            if let Some(first) = &first {
                let message = if *first == member {
                    "`retry_after` is set more than once on this field".to_owned()
                } else {
                    format!(
                        "the field `{}` already holds the server's hint of `{}`: at most one field of a {} is `retry_after`",
                        member_name(first),
                        classified.name,
                        classified.kind(),
                    )
                };
                errors.push(syn::Error::new(span, message));
                continue;
            }
            first = Some(member.clone());
            match hint_kind(&field.ty) {
                Some(kind) => {
                    hint = Some(HintField {
                        member: member.clone(),
                        ty: field.ty.clone(),
                        optional: kind == HintKind::Optional,
                    });
                }
                None => errors.push(syn::Error::new_spanned(
                    &field.ty,
                    not_a_duration_message(&field.ty),
                )),
            }
        }
    }
    hint
}

fn not_a_duration_message(ty: &Type) -> String {
    let written = display_type(ty);
    let number = INTEGER_TYPES
        .iter()
        .chain(&FLOAT_TYPES)
        .any(|number| written == *number || written == format!("Option<{number}>"));
    let advice = if number {
        "; store the number as a `Duration` when the error is made, as in `Duration::from_secs(secs)`"
    } else {
        ""
    };
    format!(
        "a `retry_after` field holds the server's hint, a `Duration` or an `Option<Duration>`; this one is `{written}`{advice}"
    )
}

/// A key above a struct, an enum or a variant (`place`) that does not belong there.
fn misplaced(key: &Key, place: Place, derived: DerivedType) -> syn::Error {
    let name = key.name();
    let message = match (key, place) {
        (Key::RetryAfter(_), _) => format!("`retry_after` goes on {}", key_home(name)),
        (Key::Crate(..), _) => {
            format!("`crate` goes on the type, above `{derived}`, not on a variant")
        }
        (_, _) => format!(
            "`{name}` goes on each variant it applies to, not on the enum; what is unmarked is never retried"
        ),
    };
    syn::Error::new(key.span(), message)
}

/// A key on a field other than `retry_after`.
fn misplaced_on_field(key: &Key, classified: Classified) -> syn::Error {
    let name = key.name();
    let derived = classified.derived;
    let message = match (key, classified.place) {
        (Key::Crate(..), _) => {
            format!("`crate` goes on the type, above `{derived}`, not on a field")
        }
        (_, Place::Variant) => format!(
            "`{name}` goes on the variant, not on one of its fields: write `#[retryable({name})]` above `{}`",
            classified.name,
        ),
        (_, _) => format!(
            "`{name}` goes on the struct, not on one of its fields: write `#[retryable({name})]` above `{derived}`"
        ),
    };
    syn::Error::new(key.span(), message)
}

/// Which of the two types a `retry_after` field may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintKind {
    /// A path ending in `Duration`: `retry_after()` is `Some` of it.
    Plain,
    /// `Option<…Duration>`: `retry_after()` is it.
    Optional,
}
/// The kind of hint a field of type `ty` holds, if it is one: a path ending in `Duration`
/// (`std::time::Duration`, `Duration`, tokio's re-export), or `Option` of one. A type alias is not
/// seen through; name `Duration` in the field.
pub fn hint_kind(ty: &Type) -> Option<HintKind> {
    match ty {
        Type::Group(group) => hint_kind(&group.elem),
        Type::Paren(paren) => hint_kind(&paren.elem),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            if last.ident == "Duration" && last.arguments.is_none() {
                return Some(HintKind::Plain);
            }
            if last.ident != "Option" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return None;
            };
            match arguments.args.iter().collect::<Vec<_>>().as_slice() {
                [syn::GenericArgument::Type(inner)] => {
                    (hint_kind(inner) == Some(HintKind::Plain)).then_some(HintKind::Optional)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The bounds a generic type needs: `Field: Retryable` for each delegated-to field whose type
/// mentions a type parameter, once each.
fn delegate_bounds(generics: &Generics, body: &Body) -> Vec<Type> {
    let params: Vec<&Ident> = generics.type_params().map(|param| &param.ident).collect();
    let mut bounds: Vec<Type> = Vec::new();
    for classification in body.classifications() {
        if let Transience::Delegate(_, ty) = &classification.transience {
            let tokens = ty.to_token_stream();
            let seen = bounds
                .iter()
                .any(|bound| bound.to_token_stream().to_string() == tokens.to_string());
            if !seen && mentions_any(tokens, &params) {
                bounds.push(ty.clone());
            }
        }
    }
    bounds
}

/// Whether `tokens` name one of `params` (a lifetime `'a` is not the type `a`).
fn mentions_any(tokens: TokenStream, params: &[&Ident]) -> bool {
    let mut after_quote = false;
    tokens.into_iter().any(|tree| {
        let found = match &tree {
            TokenTree::Ident(ident) => !after_quote && params.contains(&ident),
            TokenTree::Group(group) => mentions_any(group.stream(), params),
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        };
        after_quote = matches!(&tree, TokenTree::Punct(p) if p.as_char() == '\'');
        found
    })
}

fn member_name(member: &Member) -> String {
    match member {
        Member::Named(ident) => ident.to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    }
}

/// A type as the user would write it: `Option<u64>`, not `Option < u64 >`.
fn display_type(ty: &Type) -> String {
    crate::tokens::as_written(&ty.to_token_stream())
}

/// The checked input of a derive that has no mistakes: for the tests of this stage and the next.
#[cfg(test)]
pub fn checked(input: &DeriveInput) -> Input {
    let mut errors = Errors::default();
    let checked = validate(input, &mut errors);
    let messages = errors.messages();
    assert!(messages.is_empty(), "{messages:?}");
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// The errors of a whole derive input, in order.
    fn errors_of(input: &DeriveInput) -> Vec<String> {
        let mut errors = Errors::default();
        validate(input, &mut errors);
        errors.messages()
    }

    #[test]
    fn the_two_hint_types_are_recognised() {
        for ty in [
            quote!(Duration),
            quote!(std::time::Duration),
            quote!(::core::time::Duration),
            quote!(tokio::time::Duration),
        ] {
            let ty: Type = syn::parse2(ty.clone()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                hint_kind(&ty),
                Some(HintKind::Plain),
                "{}",
                display_type(&ty)
            );
        }
        for ty in [
            quote!(Option<Duration>),
            quote!(std::option::Option<std::time::Duration>),
            quote!(Option<(Duration)>),
        ] {
            let ty: Type = syn::parse2(ty.clone()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                hint_kind(&ty),
                Some(HintKind::Optional),
                "{}",
                display_type(&ty)
            );
        }
        for ty in [
            quote!(u64),
            quote!(Option<u64>),
            quote!(Vec<Duration>),
            quote!(Option<Option<Duration>>),
            quote!(&'static Duration),
            quote!(Duration<T>),
            quote!(<T as Tr>::Duration),
        ] {
            let ty: Type = syn::parse2(ty.clone()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(hint_kind(&ty), None, "{}", display_type(&ty));
        }
    }

    #[test]
    fn every_mistake_of_a_derive_is_reported() {
        let errors = errors_of(&syn::parse_quote! {
            #[retryable(transient, crate = a, crate = b)]
            enum E {
                #[retryable(transient, delegate)]
                TwoMarkers,
                #[retryable(transient, transient)]
                Twice,
                #[retryable(delegate)]
                NoField,
                #[retryable(delegate)]
                Several(u8, u8),
                Hints {
                    #[retryable(retry_after)]
                    a: Duration,
                    #[retryable(retry_after)]
                    b: Option<Duration>,
                },
                NotADuration(#[retryable(retry_after)] u64),
                #[retryable(delegate)]
                Beside(#[retryable(retry_after)] Duration),
                #[retryable(retry_after, crate = c)]
                Misplaced(#[retryable(transient)] u8),
            }
        });
        let expected = [
            "`crate` is set more than once",
            "`transient` goes on each variant it applies to, not on the enum",
            "`TwoMarkers` is marked both `transient` and `delegate`; keep one",
            "`transient` is set more than once on `Twice`",
            "`delegate` needs a variant with one field to delegate to, and `NoField` has none",
            "`delegate` needs a variant with exactly one field to delegate to, and `Several` has 2",
            "the field `a` already holds the server's hint of `Hints`",
            "a `retry_after` field holds the server's hint, a `Duration` or an `Option<Duration>`; this one is `u64`",
            "`retry_after` cannot stand beside `delegate`",
            "`retry_after` goes on the field that holds the server's hint",
            "`crate` goes on the type, above `enum E`, not on a variant",
            "`transient` goes on the variant, not on one of its fields: write `#[retryable(transient)]` above `Misplaced`",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(
                error.starts_with(expected),
                "{error}\n  expected: {expected}"
            );
        }
    }

    #[test]
    fn a_union_and_a_bare_attribute_are_rejected() {
        let errors = errors_of(&syn::parse_quote! {
            union U { a: u8, b: u16 }
        });
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("`#[derive(Retryable)]` cannot classify a union"));
        let errors = errors_of(&syn::parse_quote! {
            #[retryable]
            struct S;
        });
        assert_eq!(
            errors,
            [
                "expected `#[retryable(…)]`, such as `#[retryable(transient)]`; the keys on a struct are `transient`, `transient_if`, `delegate`, `crate`"
            ]
        );
    }

    #[test]
    fn other_attributes_are_left_alone() {
        let checked = checked(&syn::parse_quote! {
            #[derive(Debug)]
            #[error("{0}")]
            #[serde(rename_all = "snake_case", whatever)]
            enum E {
                #[error("x")]
                #[retryable(transient)]
                A(#[source] #[from] std::io::Error),
            }
        });
        let Body::Enum(variants) = &checked.body else {
            panic!("an enum")
        };
        assert!(matches!(
            variants[0].classification.transience,
            Transience::Always
        ));
    }

    #[test]
    fn a_lifetime_is_not_a_type_parameter() {
        let a = Ident::new("a", Span::call_site());
        assert!(!mentions_any(quote!(&'a str), &[&a]));
        assert!(mentions_any(quote!(Vec<(a, 'b)>), &[&a]));
    }
}
