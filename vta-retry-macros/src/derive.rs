//! `#[derive(Retryable)]`: an error type's classification, declared on its variants.
//!
//! ```text
//! // Input:
//! #[derive(Debug, thiserror::Error, Retryable)]
//! enum StoreError {
//!     #[error("timed out")]
//!     #[retryable(transient)]                          // always worth another attempt
//!     Timeout,
//!     #[error("HTTP {status}")]
//!     #[retryable(transient_if = Self::is_server_error)] // a `fn(&Self) -> bool` decides
//!     Http { status: u16, #[retryable(retry_after)] wait: Option<Duration> },
//!     #[error(transparent)]
//!     #[retryable(delegate)]                           // the field's own `Retryable`, hint too
//!     Io(std::io::Error),
//!     #[error("invalid: {0}")]
//!     Invalid(String),                                 // unmarked: never retried
//! }
//!
//! // Output:
//! #[automatically_derived]
//! impl ::vta_retry_runtime::Retryable for StoreError {
//!     fn is_transient(&self) -> bool {
//!         match self {
//!             Self::Timeout { .. } => true,
//!             Self::Http { .. } => {
//!                 let __vta_transient_if: fn(&Self) -> bool = Self::is_server_error;
//!                 __vta_transient_if(self)
//!             }
//!             Self::Io { 0: __vta_inner, .. } =>
//!                 <std::io::Error as ::vta_retry_runtime::Retryable>::is_transient(__vta_inner),
//!             Self::Invalid { .. } => false,
//!         }
//!     }
//!     // Only when some variant has a hint or delegates; otherwise the trait's `None` stands.
//!     fn retry_after(&self) -> Option<Duration> {
//!         match self {
//!             Self::Http { wait: __vta_hint, .. } => *__vta_hint,
//!             Self::Io { 0: __vta_inner, .. } =>
//!                 <std::io::Error as ::vta_retry_runtime::Retryable>::retry_after(__vta_inner),
//!             Self::Timeout { .. } => None,
//!             Self::Invalid { .. } => None,
//!         }
//!     }
//! }
//! ```
//!
//! The file reads in the order of the pipeline, as the attribute's three files do: the grammar
//! (each `#[retryable(...)]` read into [`Key`]s with their spans), validation (the keys checked
//! against where they stand and against each other, into a [`Plan`]), and the expansion, which
//! cannot fail. Every mistake of one derive is reported at once; beside the errors goes an impl
//! that never retries, so the functions that use the type report nothing more.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, ExprPath, Fields, Generics, Member, Meta, Path, Type};

use crate::diagnostics::Errors;
use crate::runtime_path;

/// The whole derive: parse, validate, expand; or, on any error, every error found and an impl
/// that never retries.
pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    let plan = validate(&input, &mut errors);
    match errors.finish(()) {
        Ok(()) => expand(&plan),
        Err(errors) => {
            let errors = errors.into_compile_error();
            let fallback = fallback(&input, &plan.krate);
            quote!(#errors #fallback)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The grammar: `#[retryable(key, key = value, …)]`.
// ---------------------------------------------------------------------------------------------

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
    const fn is_marker(&self) -> bool {
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
pub fn parse_tokens(tokens: TokenStream, place: Place, errors: &mut Errors) -> Vec<Key> {
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
    if input.peek(syn::LitStr) {
        let text: syn::LitStr = input.parse()?;
        return Err(syn::Error::new(
            text.span(),
            format!(
                "`crate` takes a path, not a string: write `crate = {}`",
                text.value()
            ),
        ));
    }
    Path::parse_mod_style(input).map_err(|error| {
        syn::Error::new(
            error.span(),
            "`crate` takes the path of the runtime crate, such as `crate = my_retry`",
        )
    })
}

fn unknown_key_message(name: &str, place: Place) -> String {
    let meant = match name {
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
    let hint = match meant {
        Some(key) if place.keys().contains(&key) => format!("; did you mean `{key}`?"),
        Some(key) => format!("; did you mean `{key}`? It goes on {}", key_home(key)),
        None if matches!(
            name,
            "permanent" | "fatal" | "never" | "no_retry" | "not_transient" | "terminal" | "final"
        ) =>
        {
            "; what is unmarked is never retried, so it needs no key".to_owned()
        }
        None => String::new(),
    };
    format!("unknown key `{name}`; {}{hint}", place.keys_sentence())
}

/// Where a key belongs, for messages about a key in the wrong place.
fn key_home(key: &str) -> &'static str {
    match key {
        "retry_after" => {
            "the field that holds the server's hint, of type `Duration` or `Option<Duration>`"
        }
        "crate" => "the type, above `enum` or `struct`",
        _ => "a variant, or a struct",
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: the keys checked against where they stand and against each other.
// ---------------------------------------------------------------------------------------------

/// A checked derive: everything the expansion needs, nothing left to go wrong.
pub struct Plan {
    /// The type's name.
    pub ident: Ident,
    /// The type's generics and where clause, as the user wrote them.
    pub generics: Generics,
    /// Field types of delegating variants that mention a type parameter: each gets a
    /// `Type: Retryable` bound in the impl's where clause.
    pub bounds: Vec<Type>,
    /// The runtime's path: `crate = …`, else the name `Cargo.toml` gives it.
    pub krate: Path,
    /// A struct's classification, or each variant's.
    pub shape: Shape,
}

/// A struct, or an enum's variants in declaration order.
pub enum Shape {
    /// A struct: one case.
    Struct(Box<Case>),
    /// An enum: a case per variant.
    Enum(Vec<(Ident, Case)>),
}

/// How one struct or variant is classified, and where its server hint is.
pub struct Case {
    /// What `is_transient` says.
    pub rule: Rule,
    /// The field `retry_after` returns, if any (never beside [`Rule::Delegate`]).
    pub hint: Option<Hint>,
}

/// What `is_transient` says for a struct or variant.
pub enum Rule {
    /// Unmarked: `false`.
    Never,
    /// `transient`: `true`.
    Transient,
    /// `transient_if = path`: the function's answer.
    TransientIf(ExprPath),
    /// `delegate`: the field's own `Retryable`, which also gives the hint.
    Delegate(Member, Type),
}

/// The field that holds the server's hint.
pub struct Hint {
    /// The field.
    pub member: Member,
    /// Its type, where a type mismatch is reported.
    pub ty: Type,
    /// `Option<Duration>` rather than `Duration`.
    pub optional: bool,
}

impl Shape {
    fn cases(&self) -> Vec<&Case> {
        match self {
            Self::Struct(case) => vec![case],
            Self::Enum(variants) => variants.iter().map(|(_, case)| case).collect(),
        }
    }
}

impl Case {
    /// Whether `retry_after` has something to say for this case.
    const fn has_hint(&self) -> bool {
        self.hint.is_some() || matches!(self.rule, Rule::Delegate(..))
    }
}

/// Checks the input, adding each mistake to `errors`. The plan returned is only expanded when
/// `errors` is still empty.
pub fn validate(input: &DeriveInput, errors: &mut Errors) -> Plan {
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
    let container = Container {
        keyword,
        name: &input.ident,
    };
    let shape = match &input.data {
        Data::Struct(data) => {
            let subject = Subject {
                name: &input.ident,
                place: Place::Struct,
                container,
            };
            Shape::Struct(Box::new(check_case(
                &markers,
                &data.fields,
                subject,
                errors,
            )))
        }
        Data::Enum(data) => {
            for key in &markers {
                errors.push(misplaced(key, Place::Enum, container));
            }
            let variants = data.variants.iter().map(|variant| {
                let keys = parse_attrs(&variant.attrs, Place::Variant, errors);
                let subject = Subject {
                    name: &variant.ident,
                    place: Place::Variant,
                    container,
                };
                let case = check_case(&keys, &variant.fields, subject, errors);
                (variant.ident.clone(), case)
            });
            Shape::Enum(variants.collect())
        }
        Data::Union(data) => {
            errors.push(syn::Error::new(
                data.union_token.span,
                "`#[derive(Retryable)]` cannot classify a union: it cannot tell which field is set; \
                 implement `Retryable` by hand, or make it an enum",
            ));
            // Never expanded: the error above stops the derive.
            Shape::Enum(Vec::new())
        }
    };
    Plan {
        ident: input.ident.clone(),
        generics: input.generics.clone(),
        bounds: delegate_bounds(&input.generics, &shape),
        krate: krate.unwrap_or_else(runtime_path::default_runtime_path),
        shape,
    }
}

/// The type being derived, for messages: `enum StoreError`.
#[derive(Clone, Copy)]
struct Container<'a> {
    keyword: &'static str,
    name: &'a Ident,
}

impl std::fmt::Display for Container<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.keyword, self.name)
    }
}

/// The struct or variant being checked, for messages.
#[derive(Clone, Copy)]
struct Subject<'a> {
    name: &'a Ident,
    /// [`Place::Struct`] or [`Place::Variant`].
    place: Place,
    container: Container<'a>,
}

impl Subject<'_> {
    const fn kind(self) -> &'static str {
        match self.place {
            Place::Variant => "variant",
            _ => "struct",
        }
    }
}

/// Checks one struct or variant: its markers (`keys`, from above it) and its fields' keys.
fn check_case(keys: &[Key], fields: &Fields, subject: Subject, errors: &mut Errors) -> Case {
    let name = subject.name;
    let mut marker: Option<&Key> = None;
    for key in keys {
        if !key.is_marker() {
            errors.push(misplaced(key, subject.place, subject.container));
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
    let rule = match marker {
        None | Some(Key::RetryAfter(_) | Key::Crate(..)) => Rule::Never,
        Some(Key::Transient(_)) => Rule::Transient,
        Some(Key::TransientIf(_, path)) => Rule::TransientIf(path.clone()),
        Some(Key::Delegate(span)) => match check_delegate(*span, fields, subject) {
            Ok((member, ty)) => Rule::Delegate(member, ty),
            Err(error) => {
                errors.push(error);
                Rule::Never
            }
        },
    };
    let delegates = matches!(marker, Some(Key::Delegate(_)));
    let hint = check_fields(fields, subject, delegates, errors);
    Case { rule, hint }
}

/// `delegate` needs exactly one field, of a variant or a struct: the field and its type.
fn check_delegate(span: Span, fields: &Fields, subject: Subject) -> syn::Result<(Member, Type)> {
    let name = subject.name;
    let kind = subject.kind();
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
fn check_fields(
    fields: &Fields,
    subject: Subject,
    delegates: bool,
    errors: &mut Errors,
) -> Option<Hint> {
    let mut hint: Option<Hint> = None;
    let mut first: Option<Member> = None;
    for (member, field) in fields.members().zip(fields.iter()) {
        for key in parse_attrs(&field.attrs, Place::Field, errors) {
            let Key::RetryAfter(span) = key else {
                errors.push(misplaced_on_field(&key, subject));
                continue;
            };
            if delegates {
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "`retry_after` cannot stand beside `delegate`: `{}` takes its hint from the field it delegates to; \
                         remove `retry_after`",
                        subject.name
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
                        subject.name,
                        subject.kind(),
                    )
                };
                errors.push(syn::Error::new(span, message));
                continue;
            }
            first = Some(member.clone());
            match hint_kind(&field.ty) {
                Some(kind) => {
                    hint = Some(Hint {
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
    let number = [
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64",
    ]
    .iter()
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
fn misplaced(key: &Key, place: Place, container: Container) -> syn::Error {
    let name = key.name();
    let message = match (key, place) {
        (Key::RetryAfter(_), _) => format!("`retry_after` goes on {}", key_home(name)),
        (Key::Crate(..), _) => {
            format!("`crate` goes on the type, above `{container}`, not on a variant")
        }
        (_, _) => format!(
            "`{name}` goes on each variant it applies to, not on the enum; what is unmarked is never retried"
        ),
    };
    syn::Error::new(key.span(), message)
}

/// A key on a field other than `retry_after`.
fn misplaced_on_field(key: &Key, subject: Subject) -> syn::Error {
    let name = key.name();
    let container = subject.container;
    let message = match (key, subject.place) {
        (Key::Crate(..), _) => {
            format!("`crate` goes on the type, above `{container}`, not on a field")
        }
        (_, Place::Variant) => format!(
            "`{name}` goes on the variant, not on one of its fields: write `#[retryable({name})]` above `{}`",
            subject.name,
        ),
        (_, _) => format!(
            "`{name}` goes on the struct, not on one of its fields: write `#[retryable({name})]` above `{container}`"
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
fn delegate_bounds(generics: &Generics, shape: &Shape) -> Vec<Type> {
    let params: Vec<&Ident> = generics.type_params().map(|param| &param.ident).collect();
    let mut bounds: Vec<Type> = Vec::new();
    for case in shape.cases() {
        if let Rule::Delegate(_, ty) = &case.rule {
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

// ---------------------------------------------------------------------------------------------
// The expansion: the impl. It cannot fail.
// ---------------------------------------------------------------------------------------------

/// The `Retryable` impl of a checked derive.
pub fn expand(plan: &Plan) -> TokenStream {
    let Plan {
        ident,
        generics,
        bounds,
        krate,
        shape,
    } = plan;
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

    let is_transient = match shape {
        Shape::Struct(case) => struct_is_transient(&case.rule, krate),
        Shape::Enum(variants) if variants.is_empty() => quote!(match *self {}),
        Shape::Enum(variants) => {
            let arms = variants.iter().map(|(variant, case)| {
                let (pattern, body) = variant_is_transient(variant, &case.rule, krate);
                quote!(#pattern => #body,)
            });
            quote!(match self { #(#arms)* })
        }
    };
    let retry_after = shape.cases().into_iter().any(Case::has_hint).then(|| {
        let body = match shape {
            Shape::Struct(case) => struct_retry_after(case, krate),
            Shape::Enum(variants) => {
                let arms = variants.iter().map(|(variant, case)| {
                    let (pattern, body) = variant_retry_after(variant, case, krate);
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
    let in_progress = delegated(shape, "in_progress", krate);
    let key_reused = delegated(shape, "idempotency_key_reused", krate);
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

/// A `fn method(&self) -> bool` of `Retryable` that a delegating case answers from its field,
/// and every other case with `false`; nothing when no case delegates (the default is `false`).
fn delegated(shape: &Shape, method: &str, krate: &Path) -> Option<TokenStream> {
    let method = Ident::new(method, Span::call_site());
    let delegates = |case: &Case| matches!(case.rule, Rule::Delegate(..));
    let body = match shape {
        Shape::Struct(case) => match &case.rule {
            Rule::Delegate(member, ty) => {
                quote_spanned!(ty.span()=> <#ty as #krate::Retryable>::#method(&self.#member))
            }
            _ => return None,
        },
        Shape::Enum(variants) => {
            if !variants.iter().any(|(_, case)| delegates(case)) {
                return None;
            }
            let arms = variants
                .iter()
                .filter_map(|(variant, case)| match &case.rule {
                    Rule::Delegate(member, ty) => {
                        let inner = generated("__vta_inner", ty.span());
                        let call =
                            quote_spanned!(ty.span()=> <#ty as #krate::Retryable>::#method(#inner));
                        Some(quote!(Self::#variant { #member: #inner, .. } => #call,))
                    }
                    _ => None,
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

/// What a derive with errors emits beside them: an impl that never retries, so the functions
/// that use the type report nothing more.
fn fallback(input: &DeriveInput, krate: &Path) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Retryable for #ident #ty_generics #where_clause {
            fn is_transient(&self) -> bool {
                false
            }
        }
    }
}

/// A mixed-site name the user's code can neither see nor shadow, located at `at` so that an
/// error about the value it holds points there.
fn generated(name: &str, at: Span) -> Ident {
    Ident::new(name, Span::mixed_site().located_at(at))
}

fn struct_is_transient(rule: &Rule, krate: &Path) -> TokenStream {
    match rule {
        Rule::Never => quote!(false),
        Rule::Transient => quote!(true),
        Rule::TransientIf(path) => call_transient_if(path),
        Rule::Delegate(member, ty) => {
            let inner = generated("__vta_inner", ty.span());
            quote_spanned! {ty.span()=>
                let #inner = &self.#member;
                <#ty as #krate::Retryable>::is_transient(#inner)
            }
        }
    }
}

fn struct_retry_after(case: &Case, krate: &Path) -> TokenStream {
    match (&case.rule, &case.hint) {
        (Rule::Delegate(member, ty), _) => {
            let inner = generated("__vta_inner", ty.span());
            quote_spanned! {ty.span()=>
                let #inner = &self.#member;
                <#ty as #krate::Retryable>::retry_after(#inner)
            }
        }
        (_, Some(hint)) => {
            let value = generated("__vta_hint", hint.ty.span());
            let member = &hint.member;
            let body = hint_value(hint, &value);
            quote!(let #value = &self.#member; #body)
        }
        (_, None) => quote!(::core::option::Option::None),
    }
}

/// The arm of `is_transient` for one variant: its pattern, and its body.
fn variant_is_transient(variant: &Ident, rule: &Rule, krate: &Path) -> (TokenStream, TokenStream) {
    match rule {
        Rule::Never => (quote!(Self::#variant { .. }), quote!(false)),
        Rule::Transient => (quote!(Self::#variant { .. }), quote!(true)),
        Rule::TransientIf(path) => (quote!(Self::#variant { .. }), call_transient_if(path)),
        Rule::Delegate(member, ty) => {
            let inner = generated("__vta_inner", ty.span());
            (
                quote!(Self::#variant { #member: #inner, .. }),
                quote_spanned!(ty.span()=> <#ty as #krate::Retryable>::is_transient(#inner)),
            )
        }
    }
}

/// The arm of `retry_after` for one variant: its pattern, and its body.
fn variant_retry_after(variant: &Ident, case: &Case, krate: &Path) -> (TokenStream, TokenStream) {
    match (&case.rule, &case.hint) {
        (Rule::Delegate(member, ty), _) => {
            let inner = generated("__vta_inner", ty.span());
            (
                quote!(Self::#variant { #member: #inner, .. }),
                quote_spanned!(ty.span()=> <#ty as #krate::Retryable>::retry_after(#inner)),
            )
        }
        (_, Some(hint)) => {
            let value = generated("__vta_hint", hint.ty.span());
            let member = &hint.member;
            (
                quote!(Self::#variant { #member: #value, .. }),
                hint_value(hint, &value),
            )
        }
        (_, None) => (
            quote!(Self::#variant { .. }),
            quote!(::core::option::Option::None),
        ),
    }
}

/// The hint from `value`, a reference to the hint field: copied out, and wrapped in `Some` when
/// the field is a plain `Duration`. Spanned at the field's type, where a `Duration` of another
/// crate is reported.
fn hint_value(hint: &Hint, value: &Ident) -> TokenStream {
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
    let name = generated("__vta_transient_if", span);
    let signature = crate::tokens::respan(quote!(fn(&Self) -> bool), span);
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
    use quote::quote;

    fn keys(tokens: TokenStream, place: Place) -> (Vec<Key>, Vec<String>) {
        let mut errors = Errors::default();
        let keys = parse_tokens(tokens, place, &mut errors);
        (keys, messages(errors))
    }

    fn messages(errors: Errors) -> Vec<String> {
        match errors.finish(()) {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The errors of a whole derive input, in order.
    fn errors_of(input: &DeriveInput) -> Vec<String> {
        let mut errors = Errors::default();
        validate(input, &mut errors);
        messages(errors)
    }

    fn plan_of(input: &DeriveInput) -> Plan {
        let mut errors = Errors::default();
        let plan = validate(input, &mut errors);
        let messages = messages(errors);
        assert!(messages.is_empty(), "{messages:?}");
        plan
    }

    fn expansion(input: &DeriveInput) -> String {
        expand(&plan_of(input)).to_string()
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
        let plan = plan_of(&syn::parse_quote! {
            #[derive(Debug)]
            #[error("{0}")]
            #[serde(rename_all = "snake_case", whatever)]
            enum E {
                #[error("x")]
                #[retryable(transient)]
                A(#[source] #[from] std::io::Error),
            }
        });
        let Shape::Enum(variants) = &plan.shape else {
            panic!("an enum")
        };
        assert!(matches!(variants[0].1.rule, Rule::Transient));
    }

    #[test]
    fn generic_delegates_are_bounded_once_and_concrete_ones_not_at_all() {
        let plan = plan_of(&syn::parse_quote! {
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
        let bounds: Vec<String> = plan
            .bounds
            .iter()
            .map(|ty| ty.to_token_stream().to_string())
            .collect();
        assert_eq!(bounds, ["E", "Box < F >"]);
        let expanded = expand(&plan).to_string();
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
    fn a_lifetime_is_not_a_type_parameter() {
        let a = Ident::new("a", Span::call_site());
        assert!(!mentions_any(quote!(&'a str), &[&a]));
        assert!(mentions_any(quote!(Vec<(a, 'b)>), &[&a]));
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

    #[test]
    fn a_derive_with_errors_emits_them_and_an_impl_that_never_retries() {
        let output = derive(quote! {
            #[retryable(crate = my_retry)]
            enum E<T> { #[retryable(delegate)] A, B(T) }
        })
        .to_string();
        assert!(output.contains("compile_error"), "{output}");
        assert!(
            output.contains("impl < T > my_retry :: Retryable for E < T > { fn is_transient (& self) -> bool { false } }"),
            "{output}"
        );
    }
}
