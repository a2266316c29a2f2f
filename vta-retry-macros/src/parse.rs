//! The grammar: the attribute's `key = value` list and the annotated function.
//!
//! Every function here takes `proc_macro2` tokens and returns a value or a spanned `syn::Error`, so
//! the grammar is unit- and property-tested outside a macro expansion. Errors are collected, not
//! returned at the first one: a user with three mistakes in one attribute sees three errors.

use std::time::Duration;

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, ExprPath, Lit, Path, Signature, Visibility};

use crate::duration::{DurationError, parse_duration};

/// The keys the attribute accepts, in the order the docs list them.
pub const KEYS: [&str; 4] = ["attempts", "backoff", "retry_if", "crate"];

/// What the attribute said, key by key, each with the span of the value the user wrote.
/// Only the grammar has been checked; [`crate::validate`] checks the values against each other.
#[derive(Default)]
pub struct Args {
    /// `attempts = N`, with the literal's span.
    pub attempts: Option<(u64, Span)>,
    /// `backoff = "A..B"` or `backoff = "A"`, with the literal's span.
    pub backoff: Option<(BackoffText, Span)>,
    /// `retry_if = path`.
    pub retry_if: Option<ExprPath>,
    /// `crate = path`.
    pub crate_path: Option<Path>,
}

/// The durations of a `backoff` string, before their order is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffText {
    /// The wait before the second attempt.
    pub first: Duration,
    /// The cap after `..`; `None` for a constant backoff.
    pub max: Option<Duration>,
}

/// Parses the attribute's arguments, reporting every mistake at once.
#[cfg(test)]
pub fn parse_args(tokens: TokenStream) -> syn::Result<Args> {
    let (args, errors) = parse_args_partially(tokens);
    errors.finish(args)
}

/// As [`parse_args`], but also returns what did parse beside the errors, so validation can still
/// report the mistakes in the keys that were well formed.
pub fn parse_args_partially(tokens: TokenStream) -> (Args, Errors) {
    let mut args = Args::default();
    let mut errors = Errors::default();
    for entry in split_on_commas(tokens) {
        if let Err(error) = args.set(entry) {
            errors.push(error);
        }
    }
    (args, errors)
}

/// One `key = value` entry: the tokens between two top-level commas, and the span of the comma
/// that ended it (where a missing entry is reported).
struct Entry {
    tokens: Vec<TokenTree>,
    comma: Span,
}

fn split_on_commas(tokens: TokenStream) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut current = Vec::new();
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => entries.push(Entry {
                tokens: std::mem::take(&mut current),
                comma: p.span(),
            }),
            _ => current.push(tree),
        }
    }
    if !current.is_empty() {
        entries.push(Entry {
            tokens: current,
            comma: Span::call_site(),
        });
    }
    entries
}

impl Args {
    /// Reads one entry into its key's slot: one setter per key, each rejecting a second value.
    fn set(&mut self, entry: Entry) -> syn::Result<()> {
        let mut tokens = entry.tokens.into_iter();
        let key = match tokens.next() {
            Some(TokenTree::Ident(key)) => key,
            Some(other) => {
                return Err(syn::Error::new(
                    other.span(),
                    format!(
                        "expected `key = value`, found `{other}`; the keys are {}",
                        key_list()
                    ),
                ));
            }
            None => {
                return Err(syn::Error::new(
                    entry.comma,
                    "expected `key = value` before this comma",
                ));
            }
        };
        let name = key.to_string();
        if !KEYS.contains(&name.as_str()) {
            return Err(syn::Error::new(key.span(), unknown_key_message(&name)));
        }
        let value: Vec<TokenTree> = match tokens.next() {
            Some(TokenTree::Punct(eq)) if eq.as_char() == '=' => {
                let value: Vec<TokenTree> = tokens.collect();
                if value.is_empty() {
                    return Err(syn::Error::new(eq.span(), missing_value_message(&name)));
                }
                value
            }
            None => return Err(syn::Error::new(key.span(), missing_value_message(&name))),
            Some(other) => {
                return Err(syn::Error::new(
                    other.span(),
                    format!("expected `=` after `{name}`, found `{other}`"),
                ));
            }
        };
        let already_set = match name.as_str() {
            "attempts" => self.attempts.is_some(),
            "backoff" => self.backoff.is_some(),
            "retry_if" => self.retry_if.is_some(),
            _ => self.crate_path.is_some(),
        };
        if already_set {
            return Err(syn::Error::new(
                key.span(),
                format!("`{name}` is set more than once"),
            ));
        }
        let value: TokenStream = value.into_iter().collect();
        match name.as_str() {
            "attempts" => self.attempts = Some(parse_attempts.parse2(value)?),
            "backoff" => self.backoff = Some(parse_backoff.parse2(value)?),
            "retry_if" => self.retry_if = Some(parse_retry_if.parse2(value)?),
            _ => self.crate_path = Some(parse_crate_path.parse2(value)?),
        }
        Ok(())
    }
}

fn key_list() -> String {
    KEYS.map(|k| format!("`{k}`")).join(", ")
}

fn unknown_key_message(name: &str) -> String {
    let hint = match name {
        "attempt" | "retries" | "max_retries" | "max_attempts" | "tries" | "times" => {
            "; did you mean `attempts`? It counts every call, the first included"
        }
        "delay" | "wait" | "backoffs" | "interval" | "sleep" => "; did you mean `backoff`?",
        "retry_on" | "when" | "if" | "classifier" | "is_transient" | "retryable" => {
            "; did you mean `retry_if`?"
        }
        "krate" | "crate_path" | "runtime" => "; did you mean `crate`?",
        _ => "",
    };
    format!("unknown key `{name}`; the keys are {}{hint}", key_list())
}

fn missing_value_message(name: &str) -> String {
    let example = match name {
        "attempts" => "attempts = 3",
        "backoff" => "backoff = \"500ms..1s\"",
        "retry_if" => "retry_if = path::to::is_transient",
        _ => "crate = path::to::vta_retry_runtime",
    };
    format!("`{name}` needs a value, such as `{example}`")
}

/// Everything after the value is a mistake; name what was found.
fn expect_end(input: ParseStream, key: &str) -> syn::Result<()> {
    if input.is_empty() {
        return Ok(());
    }
    let extra: TokenTree = input.parse()?;
    Err(syn::Error::new(
        extra.span(),
        format!("unexpected `{extra}` after the value of `{key}`; separate keys with commas"),
    ))
}

/// The next value: a literal, or whatever token stands where one should. Literals that reach the
/// attribute through a `macro_rules!` fragment arrive wrapped in an invisible group, which
/// `Lit`'s parser sees through.
fn next_value(input: ParseStream) -> syn::Result<Result<Lit, TokenTree>> {
    if input.peek(Lit) {
        input.parse().map(Ok)
    } else {
        input.parse().map(Err)
    }
}

fn parse_attempts(input: ParseStream) -> syn::Result<(u64, Span)> {
    let expected = "`attempts` takes a whole number, such as `attempts = 3`";
    if input.peek(syn::Token![-]) {
        let minus: syn::Token![-] = input.parse()?;
        return Err(syn::Error::new(
            minus.span,
            "`attempts` cannot be negative: it counts every call, the first included",
        ));
    }
    let value = match next_value(input)? {
        Ok(Lit::Int(int)) if int.suffix().is_empty() => {
            let value = int
                .base10_parse::<u64>()
                .map_err(|_| syn::Error::new(int.span(), "`attempts` is too large"))?;
            (value, int.span())
        }
        Ok(other) => return Err(syn::Error::new(other.span(), expected)),
        Err(other) => return Err(syn::Error::new(other.span(), expected)),
    };
    expect_end(input, "attempts")?;
    Ok(value)
}

fn parse_backoff(input: ParseStream) -> syn::Result<(BackoffText, Span)> {
    let expected =
        "`backoff` takes a string, such as `backoff = \"500ms..1s\"` or `backoff = \"1s\"`";
    let text = match next_value(input)? {
        Ok(Lit::Str(text)) => text,
        // `backoff = 500ms` lexes as an integer with suffix `ms`: the quotes were forgotten.
        Ok(number @ (Lit::Int(_) | Lit::Float(_))) => {
            return Err(syn::Error::new(
                number.span(),
                format!(
                    "`backoff` takes a string: write `backoff = \"{}\"`",
                    number.to_token_stream()
                ),
            ));
        }
        Ok(other) => return Err(syn::Error::new(other.span(), expected)),
        Err(other) => return Err(syn::Error::new(other.span(), expected)),
    };
    expect_end(input, "backoff")?;
    let span = text.span();
    let backoff = parse_backoff_text(&text.value()).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| syn::Error::new(span, e))
            .reduce(|mut all, e| {
                all.combine(e);
                all
            })
            .unwrap_or_else(|| syn::Error::new(span, expected))
    })?;
    Ok((backoff, span))
}

/// `"A..B"` or `"A"`. Both halves are read even when the first is wrong, so both are reported.
pub fn parse_backoff_text(text: &str) -> Result<BackoffText, Vec<DurationError>> {
    match text.split_once("..") {
        None => parse_duration(text)
            .map(|first| BackoffText { first, max: None })
            .map_err(|e| vec![e]),
        Some((first, max)) => match (parse_duration(first), parse_duration(max)) {
            (Ok(first), Ok(max)) => Ok(BackoffText {
                first,
                max: Some(max),
            }),
            (first, max) => Err([first.err(), max.err()].into_iter().flatten().collect()),
        },
    }
}

fn parse_path_value<T>(
    input: ParseStream,
    key: &str,
    parse: impl FnOnce(ParseStream) -> syn::Result<T>,
) -> syn::Result<T> {
    let hint = match key {
        "retry_if" => "a path to a `fn(&E) -> bool`, such as `retry_if = errors::is_transient`",
        _ => "the path of the runtime crate, such as `crate = my_retry`",
    };
    if input.peek(syn::LitStr) {
        let text: syn::LitStr = input.parse()?;
        return Err(syn::Error::new(
            text.span(),
            format!(
                "`{key}` takes a path, not a string: write `{key} = {}`",
                text.value()
            ),
        ));
    }
    if input.peek(syn::Token![|]) || input.peek(syn::Token![move]) {
        return Err(input.error(format!(
            "`{key}` takes a path, not a closure: name a function instead, {hint}"
        )));
    }
    let value =
        parse(input).map_err(|e| syn::Error::new(e.span(), format!("`{key}` takes {hint}")))?;
    expect_end(input, key)?;
    Ok(value)
}

fn parse_retry_if(input: ParseStream) -> syn::Result<ExprPath> {
    parse_path_value(input, "retry_if", |input| {
        let path: ExprPath = input.parse()?;
        if !path.attrs.is_empty() {
            return Err(syn::Error::new_spanned(
                &path.attrs[0],
                "unexpected attribute",
            ));
        }
        Ok(path)
    })
}

fn parse_crate_path(input: ParseStream) -> syn::Result<Path> {
    parse_path_value(input, "crate", Path::parse_mod_style)
}

/// A list of errors that becomes one `syn::Error` (`Error::combine`), so all are reported at once.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds one error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Adds the error of a result, returning its value if there was one.
    pub fn check<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// `Ok(value)` when nothing went wrong, otherwise every error collected.
    pub fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}

/// The annotated function. The body is kept as raw tokens: the expansion never looks inside it,
/// and not parsing it keeps the macro fast on large functions and working on half-typed ones.
pub struct RetryFn {
    /// Outer attributes, doc comments included, re-emitted untouched.
    pub attrs: Vec<Attribute>,
    /// The visibility, re-emitted untouched.
    pub vis: Visibility,
    /// The signature, re-emitted untouched.
    pub sig: Signature,
    /// The `{ … }` body.
    pub body: Group,
}

impl Parse for RetryFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let starts_a_fn = input.peek(syn::Token![async])
            || input.peek(syn::Token![fn])
            || input.peek(syn::Token![const])
            || input.peek(syn::Token![unsafe])
            || input.peek(syn::Token![extern]);
        if !starts_a_fn {
            return Err(input.error("`#[vta_retry]` goes on an `async fn`"));
        }
        let sig: Signature = input.parse()?;
        if input.peek(syn::Token![;]) {
            let semi: syn::Token![;] = input.parse()?;
            return Err(syn::Error::new(
                semi.span,
                "`#[vta_retry]` needs a function body to retry; put it on the implementation, not the declaration",
            ));
        }
        let body = match input.parse::<TokenTree>()? {
            TokenTree::Group(body) if body.delimiter() == Delimiter::Brace => body,
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "expected the function body `{ … }`",
                ));
            }
        };
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors_of(tokens: TokenStream) -> Vec<String> {
        match parse_args(tokens) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn reads_every_key() {
        let args = parse_args(quote!(
            attempts = 5,
            backoff = "100ms..1s",
            retry_if = a::b,
            crate = c
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.attempts.map(|a| a.0), Some(5));
        assert_eq!(
            args.backoff.map(|b| b.0),
            Some(BackoffText {
                first: Duration::from_millis(100),
                max: Some(Duration::from_secs(1)),
            })
        );
        assert!(args.retry_if.is_some());
        assert!(args.crate_path.is_some());
    }

    #[test]
    fn an_empty_attribute_and_a_trailing_comma_are_fine() {
        assert!(errors_of(quote!()).is_empty());
        assert!(errors_of(quote!(attempts = 2,)).is_empty());
    }

    #[test]
    fn reports_every_mistake_at_once() {
        let errors = errors_of(quote!(atempts = 3, backoff = "5sec", attempts = 0.5, 7));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("unknown key `atempts`"));
        assert!(errors[1].starts_with("unknown unit `sec`"));
        assert!(errors[2].starts_with("`attempts` takes a whole number"));
        assert!(errors[3].starts_with("expected `key = value`, found `7`"));
    }

    #[test]
    fn a_second_value_for_any_key_is_rejected() {
        for key in [
            quote!(attempts = 1, attempts = 2),
            quote!(backoff = "1s", backoff = "2s"),
            quote!(retry_if = a, retry_if = b),
            quote!(crate = a, crate = b),
        ] {
            let errors = errors_of(key.clone());
            assert_eq!(errors.len(), 1, "{key}: {errors:?}");
            assert!(errors[0].ends_with("is set more than once"), "{errors:?}");
        }
    }

    #[test]
    fn literals_from_macro_rules_fragments_are_read() {
        use proc_macro2::{Delimiter, Group, Literal};
        let invisible = |literal: Literal| Group::new(Delimiter::None, quote!(#literal));
        let attempts = invisible(Literal::u64_unsuffixed(4));
        let backoff = invisible(Literal::string("1s"));
        let args = parse_args(quote!(attempts = #attempts, backoff = #backoff))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.attempts.map(|a| a.0), Some(4));
        assert_eq!(
            args.backoff.map(|b| b.0.first),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn reports_both_halves_of_a_bad_backoff() {
        let errors = errors_of(quote!(backoff = "5x..7y"));
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
}
