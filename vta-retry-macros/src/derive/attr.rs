//! The grammar of `#[retryable(...)]`: each attribute read into [`Key`]s with their spans, and
//! the messages for a key that is not one, wherever it stands. Whether a key belongs where it
//! stands beside the others is for `valid.rs`.

use proc_macro2::{Ident, Span, TokenTree};
use syn::parse::ParseStream;
use syn::{Attribute, ExprPath, Meta, Path};

use crate::diagnostics::{Errors, closest};

/// Where a `#[retryable(...)]` attribute stands; it decides which keys belong there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Above `struct Name`.
    Struct,
    /// Above `enum Name`.
    Enum,
    /// Above a variant of an enum.
    Variant,
    /// Above a field, of a struct or of a variant.
    Field,
}

impl Place {
    /// The keys an attribute here may hold, in the order the docs list them.
    pub const fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Struct => &["transient", "transient_if", "delegate", "crate"],
            Self::Enum => &["crate"],
            Self::Variant => &["transient", "transient_if", "delegate"],
            Self::Field => &["retry_after"],
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Struct => "a struct",
            Self::Enum => "an enum",
            Self::Variant => "a variant",
            Self::Field => "a field",
        }
    }

    /// "the keys on a variant are `transient`, `transient_if`, `delegate`"
    fn keys_sentence(self) -> String {
        let keys = self
            .keys()
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>();
        match keys.as_slice() {
            [only] => format!("the key on {} is {only}", self.name()),
            _ => format!("the keys on {} are {}", self.name(), keys.join(", ")),
        }
    }
}

/// One key of a `#[retryable(...)]` attribute, with the span of the key as written.
#[derive(Clone)]
pub enum Key {
    /// `transient`: always worth another attempt.
    Transient(Span),
    /// `transient_if = path`: a `fn(&Self) -> bool` decides.
    TransientIf(Span, ExprPath),
    /// `delegate`: the only field's own `Retryable` decides, and gives the hint.
    Delegate(Span),
    /// `retry_after`: this field is the server's hint.
    RetryAfter(Span),
    /// `crate = path`: where the runtime is.
    Crate(Span, Path),
}

impl Key {
    /// The key as written.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Transient(_) => "transient",
            Self::TransientIf(..) => "transient_if",
            Self::Delegate(_) => "delegate",
            Self::RetryAfter(_) => "retry_after",
            Self::Crate(..) => "crate",
        }
    }

    /// The span of the key itself.
    pub const fn span(&self) -> Span {
        match self {
            Self::Transient(span)
            | Self::TransientIf(span, _)
            | Self::Delegate(span)
            | Self::RetryAfter(span)
            | Self::Crate(span, _) => *span,
        }
    }

    /// Whether the key says how the struct or variant is classified.
    pub const fn is_marker(&self) -> bool {
        matches!(
            self,
            Self::Transient(_) | Self::TransientIf(..) | Self::Delegate(_)
        )
    }
}

/// Every key, wherever it belongs.
const ALL_KEYS: [&str; 5] = [
    "transient",
    "transient_if",
    "delegate",
    "retry_after",
    "crate",
];

/// Reads the keys of every `#[retryable(...)]` among `attrs`, in order. Other attributes
/// (`#[error(...)]`, docs, `#[serde(...)]`) are not looked at.
pub fn parse_attrs(attrs: &[Attribute], place: Place, errors: &mut Errors) -> Vec<Key> {
    let mut keys = Vec::new();
    for attr in attrs
        .iter()
        .filter(|attr| attr.path().is_ident("retryable"))
    {
        match &attr.meta {
            Meta::List(list) => {
                let read =
                    list.parse_args_with(|input: ParseStream| parse_keys(input, place, errors));
                keys.extend(errors.check(read).into_iter().flatten());
            }
            Meta::Path(_) | Meta::NameValue(_) => {
                let example = match place {
                    Place::Struct | Place::Variant => "transient",
                    Place::Enum => "crate = my_retry",
                    Place::Field => "retry_after",
                };
                errors.push(syn::Error::new_spanned(
                    attr,
                    format!(
                        "expected `#[retryable(…)]`, such as `#[retryable({example})]`; {}",
                        place.keys_sentence()
                    ),
                ));
            }
        }
    }
    keys
}

/// The keys between the parentheses of one `#[retryable(...)]`, read from tokens: the grammar
/// without the attribute around it, for tests.
#[cfg(test)]
pub fn parse_tokens(
    tokens: proc_macro2::TokenStream,
    place: Place,
    errors: &mut Errors,
) -> Vec<Key> {
    let read = syn::parse::Parser::parse2(
        |input: ParseStream| parse_keys(input, place, errors),
        tokens,
    );
    errors.check(read).unwrap_or_default()
}

/// Reads comma-separated keys to the end, adding each mistake to `errors` and going on with the
/// next key, so that a user with three mistakes in one attribute sees three errors.
fn parse_keys(input: ParseStream, place: Place, errors: &mut Errors) -> syn::Result<Vec<Key>> {
    let mut keys = Vec::new();
    while !input.is_empty() {
        if input.peek(syn::Token![,]) {
            let comma: syn::Token![,] = input.parse()?;
            errors.push(syn::Error::new(
                comma.span,
                "expected a key before this comma",
            ));
            continue;
        }
        match parse_key(input, place) {
            Ok(key) => {
                if !input.is_empty() && !input.peek(syn::Token![,]) {
                    let extra: TokenTree = input.parse()?;
                    let after = match &key {
                        Key::TransientIf(..) | Key::Crate(..) => {
                            format!("the value of `{}`", key.name())
                        }
                        _ => format!("`{}`", key.name()),
                    };
                    errors.push(syn::Error::new(
                        extra.span(),
                        format!("unexpected `{extra}` after {after}; separate keys with commas"),
                    ));
                    skip_entry(input)?;
                }
                keys.push(key);
            }
            Err(error) => {
                errors.push(error);
                skip_entry(input)?;
            }
        }
        if input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
        }
    }
    Ok(keys)
}

/// Skips the rest of a key that went wrong, up to the comma before the next.
fn skip_entry(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(syn::Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// One key, and its value when it takes one.
fn parse_key(input: ParseStream, place: Place) -> syn::Result<Key> {
    let key = match input.parse::<TokenTree>()? {
        TokenTree::Ident(key) => key,
        TokenTree::Literal(literal) => {
            let text = literal.to_string();
            let unquoted = text.trim_matches('"');
            let message = if ALL_KEYS.contains(&unquoted) && text.starts_with('"') {
                format!("a key is not a string: write `{unquoted}`, without the quotes")
            } else {
                format!(
                    "expected a key, found `{literal}`; {}",
                    place.keys_sentence()
                )
            };
            return Err(syn::Error::new(literal.span(), message));
        }
        other => {
            return Err(syn::Error::new(
                other.span(),
                format!("expected a key, found `{other}`; {}", place.keys_sentence()),
            ));
        }
    };
    let span = key.span();
    match key.to_string().as_str() {
        "transient" => no_value(input, &key).map(|()| Key::Transient(span)),
        "delegate" => no_value(input, &key).map(|()| Key::Delegate(span)),
        "retry_after" => no_value(input, &key).map(|()| Key::RetryAfter(span)),
        "transient_if" => {
            value(input, &key)?;
            parse_transient_if(input).map(|path| Key::TransientIf(span, path))
        }
        "crate" => {
            value(input, &key)?;
            parse_crate_path(input).map(|path| Key::Crate(span, path))
        }
        name => Err(syn::Error::new(span, unknown_key_message(name, place))),
    }
}

/// A key that takes no value: `transient`, not `transient = true`.
fn no_value(input: ParseStream, key: &Ident) -> syn::Result<()> {
    if input.peek(syn::Token![=]) {
        let eq: syn::Token![=] = input.parse()?;
        return Err(syn::Error::new(
            eq.span,
            format!("`{key}` takes no value: write `#[retryable({key})]`"),
        ));
    }
    if input.peek(syn::token::Paren)
        || input.peek(syn::token::Bracket)
        || input.peek(syn::token::Brace)
    {
        let group: TokenTree = input.parse()?;
        return Err(syn::Error::new(
            group.span(),
            format!("`{key}` takes no arguments: write `#[retryable({key})]`"),
        ));
    }
    Ok(())
}

/// The `=` of a key that takes a value, with the value after it.
fn value(input: ParseStream, key: &Ident) -> syn::Result<()> {
    let needs = || match key.to_string().as_str() {
        "transient_if" => {
            "`transient_if` needs the path of a `fn(&Self) -> bool`, such as `transient_if = Self::is_server_error`"
        }
        _ => "`crate` needs the path of the runtime crate, such as `crate = my_retry`",
    };
    if input.is_empty() || input.peek(syn::Token![,]) {
        return Err(syn::Error::new(key.span(), needs()));
    }
    if !input.peek(syn::Token![=]) {
        let found: TokenTree = input.parse()?;
        return Err(syn::Error::new(
            found.span(),
            format!("expected `=` after `{key}`, found `{found}`; {}", needs()),
        ));
    }
    let eq: syn::Token![=] = input.parse()?;
    if input.is_empty() || input.peek(syn::Token![,]) {
        return Err(syn::Error::new(eq.span, needs()));
    }
    Ok(())
}

/// `transient_if = path`: a path, not a string or a closure.
fn parse_transient_if(input: ParseStream) -> syn::Result<ExprPath> {
    let expected = "`transient_if` takes the path of a `fn(&Self) -> bool`, such as `transient_if = Self::is_server_error`";
    if input.peek(syn::LitStr) {
        let text: syn::LitStr = input.parse()?;
        return Err(syn::Error::new(
            text.span(),
            format!(
                "`transient_if` takes a path, not a string: write `transient_if = {}`",
                text.value()
            ),
        ));
    }
    if input.peek(syn::Token![|]) || input.peek(syn::Token![||]) || input.peek(syn::Token![move]) {
        let bar: TokenTree = input.parse()?;
        return Err(syn::Error::new(
            bar.span(),
            "`transient_if` takes the path of a function, not a closure: write the closure as a `fn(&Self) -> bool` and name it here",
        ));
    }
    let path: ExprPath = input
        .parse()
        .map_err(|error| syn::Error::new(error.span(), expected))?;
    if let Some(attr) = path.attrs.first() {
        return Err(syn::Error::new_spanned(attr, expected));
    }
    Ok(path)
}

/// `crate = path`, as the attribute's own `crate = …`.
fn parse_crate_path(input: ParseStream) -> syn::Result<Path> {
    crate::runtime_path::parse_crate_path(input)
}

/// "unknown key `…`; the keys on … are …", and the key most likely meant: a synonym first (the
/// word another crate uses for it), else the nearest key by edit distance, one that belongs here
/// before one that does not.
fn unknown_key_message(name: &str, place: Place) -> String {
    let synonym = match name {
        "retry" | "retryable" | "retriable" | "transient_error" | "temporary" | "recoverable"
        | "retry_always" | "always" => Some("transient"),
        "retry_if" | "transient_when" | "when" | "if" | "is_transient" | "predicate"
        | "classify" | "classifier" | "transient_fn" | "retry_when" => Some("transient_if"),
        "transparent" | "forward" | "source" | "from" | "inner" | "wrap" | "wrapped"
        | "delegate_to" | "delegated" | "via" => Some("delegate"),
        "hint" | "retry_hint" | "retry_delay" | "delay" | "wait" | "after" | "retryafter"
        | "backoff" | "retry_after_secs" => Some("retry_after"),
        "krate" | "crate_path" | "runtime" => Some("crate"),
        _ => None,
    };
    let hint = match synonym {
        Some(key) => did_you_mean(key, place),
        None if matches!(
            name,
            "permanent" | "fatal" | "never" | "no_retry" | "not_transient" | "terminal" | "final"
        ) =>
        {
            "; what is unmarked is never retried, so it needs no key".to_owned()
        }
        None => closest(name, place.keys())
            .or_else(|| closest(name, &ALL_KEYS))
            .map(|key| did_you_mean(key, place))
            .unwrap_or_default(),
    };
    format!("unknown key `{name}`; {}{hint}", place.keys_sentence())
}

/// "; did you mean `key`?", and where it goes when that is not `place`.
fn did_you_mean(key: &str, place: Place) -> String {
    if place.keys().contains(&key) {
        format!("; did you mean `{key}`?")
    } else {
        format!("; did you mean `{key}`? It goes on {}", key_home(key))
    }
}

/// Where a key belongs, for messages about a key in the wrong place.
pub fn key_home(key: &str) -> &'static str {
    match key {
        "retry_after" => {
            "the field that holds the server's hint, of type `Duration` or `Option<Duration>`"
        }
        "crate" => "the type, above `enum` or `struct`",
        _ => "a variant, or a struct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn keys(tokens: TokenStream, place: Place) -> (Vec<Key>, Vec<String>) {
        let mut errors = Errors::default();
        let keys = parse_tokens(tokens, place, &mut errors);
        (keys, errors.messages())
    }

    #[test]
    fn reads_every_key() {
        let (read, errors) = keys(
            quote!(
                transient,
                transient_if = Self::is_5xx,
                delegate,
                retry_after,
                crate = a::b,
            ),
            Place::Struct,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<_> = read.iter().map(Key::name).collect();
        assert_eq!(names, ALL_KEYS);
        let (read, errors) = keys(quote!(transient_if = is_retryable::<A, B>), Place::Variant);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(&read[..], [Key::TransientIf(..)]));
        assert!(keys(quote!(), Place::Variant).1.is_empty());
    }

    #[test]
    fn reports_every_mistake_of_an_attribute_at_once() {
        let (read, errors) = keys(
            quote!(transiant, transient = true, transient_if, , "delegate", delegate retry_after),
            Place::Variant,
        );
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert!(errors[0].starts_with("unknown key `transiant`; the keys on a variant are `transient`, `transient_if`, `delegate`"));
        assert_eq!(
            errors[1],
            "`transient` takes no value: write `#[retryable(transient)]`"
        );
        assert!(errors[2].starts_with("`transient_if` needs the path of a `fn(&Self) -> bool`"));
        assert_eq!(errors[3], "expected a key before this comma");
        assert_eq!(
            errors[4],
            "a key is not a string: write `delegate`, without the quotes"
        );
        assert_eq!(
            errors[5],
            "unexpected `retry_after` after `delegate`; separate keys with commas"
        );
        assert!(
            matches!(&read[..], [Key::Delegate(_)]),
            "the well-formed key is kept"
        );
    }

    #[test]
    fn unknown_keys_list_the_keys_of_their_place_and_guess_the_intent() {
        let first = |tokens, place| keys(tokens, place).1.remove(0);
        assert_eq!(
            first(quote!(hint), Place::Field),
            "unknown key `hint`; the key on a field is `retry_after`; did you mean `retry_after`?"
        );
        assert_eq!(
            first(quote!(transparent), Place::Variant),
            "unknown key `transparent`; the keys on a variant are `transient`, `transient_if`, `delegate`; did you mean `delegate`?"
        );
        assert!(
            first(quote!(retry), Place::Field)
                .ends_with("did you mean `transient`? It goes on a variant, or a struct")
        );
        assert!(
            first(quote!(permanent), Place::Variant)
                .ends_with("what is unmarked is never retried, so it needs no key")
        );
        assert!(
            first(quote!(nonsense), Place::Enum)
                .starts_with("unknown key `nonsense`; the key on an enum is `crate`")
        );
    }

    #[test]
    fn a_misspelt_key_finds_the_nearest_one() {
        let first = |tokens, place| keys(tokens, place).1.remove(0);
        assert_eq!(
            first(quote!(transiant), Place::Variant),
            "unknown key `transiant`; the keys on a variant are `transient`, `transient_if`, `delegate`; did you mean `transient`?"
        );
        assert_eq!(
            first(quote!(crat), Place::Enum),
            "unknown key `crat`; the key on an enum is `crate`; did you mean `crate`?"
        );
        assert!(
            first(quote!(retry_afer), Place::Variant).ends_with(
                "did you mean `retry_after`? It goes on the field that holds the server's hint, of type `Duration` or `Option<Duration>`"
            )
        );
        assert!(
            first(quote!(delegat), Place::Field)
                .ends_with("did you mean `delegate`? It goes on a variant, or a struct")
        );
        assert_eq!(
            first(quote!(nonsense), Place::Enum),
            "unknown key `nonsense`; the key on an enum is `crate`",
            "no key is near enough to guess"
        );
    }

    #[test]
    fn a_transient_if_value_is_a_path() {
        for (tokens, expected) in [
            (quote!(transient_if), "`transient_if` needs the path"),
            (quote!(transient_if =), "`transient_if` needs the path"),
            (
                quote!(transient_if = "is_5xx"),
                "`transient_if` takes a path, not a string: write `transient_if = is_5xx`",
            ),
            (
                quote!(transient_if = |e| true),
                "`transient_if` takes the path of a function, not a closure",
            ),
            (
                quote!(transient_if = 42),
                "`transient_if` takes the path of a `fn(&Self) -> bool`",
            ),
            (
                quote!(transient_if(is_5xx)),
                "expected `=` after `transient_if`",
            ),
            (
                quote!(transient_if = a b),
                "unexpected `b` after the value of `transient_if`",
            ),
        ] {
            let errors = keys(tokens.clone(), Place::Variant).1;
            assert_eq!(errors.len(), 1, "{tokens}: {errors:?}");
            assert!(errors[0].starts_with(expected), "{tokens}: {errors:?}");
        }
        let errors = keys(quote!(crate = "my_retry"), Place::Enum).1;
        assert_eq!(
            errors,
            ["`crate` takes a path, not a string: write `crate = my_retry`"]
        );
    }
}
