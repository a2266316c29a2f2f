//! The attribute's grammar: its `key = value` list, read into [`Args`] with the span of each value.
//!
//! ```text
//! // Input:  attempts = 3, backoff = "500ms..1s", retry_if = |e| e.is_timeout(), vta_key = true
//! // Output: Args { attempts: Some(Count(3)), backoff: Some((500ms..1s, span)),
//! //                retry_if: Some(closure), vta_key: Some((true, span)), .. }
//! ```
//!
//! One `ParseStream` reads the list, each value by its key's parser, which stops where the value
//! does (a closure's `|a, b|` included). Errors are collected, not returned at the first one: a
//! mistake skips to the next comma, and a user with three mistakes in one attribute sees three
//! errors. Every function here takes `proc_macro2` tokens and returns a value or a spanned
//! `syn::Error`, so the grammar is unit- and property-tested outside a macro expansion.

use std::time::Duration;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Expr, ExprPath, Ident, Lit, Path};

use crate::diagnostics::{Errors, closest};
use crate::duration::{BackoffText, parse_backoff_text, parse_duration};
use crate::tokens::INTEGER_TYPES;

/// The keys the attribute accepts, in the order the docs list them.
pub const KEYS: [&str; 12] = [
    "attempts",
    "backoff",
    "jitter",
    "timeout",
    "max_elapsed",
    "max_hint",
    "retry_if",
    "on_retry",
    "budget",
    "policy",
    "vta_key",
    "crate",
];

/// What the attribute said, key by key, each with the span of the value the user wrote.
/// Only the grammar has been checked; [`crate::validate`] checks the values against each other.
#[derive(Default)]
pub struct Args {
    /// `attempts = 3` or `attempts = MAX_ATTEMPTS`.
    pub attempts: Option<Attempts>,
    /// `backoff = "A..B"` or `backoff = "A"`, with the literal's span.
    pub backoff: Option<(BackoffText, Span)>,
    /// `jitter = "none" | "full" | "equal"`.
    pub jitter: Option<JitterKind>,
    /// `timeout = "5s"`, with the literal's span.
    pub timeout: Option<(Duration, Span)>,
    /// `max_elapsed = "10s"`, with the literal's span.
    pub max_elapsed: Option<(Duration, Span)>,
    /// `max_hint = "30s"`, with the literal's span.
    pub max_hint: Option<(Duration, Span)>,
    /// `retry_if = path` or `retry_if = |error| …`.
    pub retry_if: Option<Expr>,
    /// `on_retry = path` or `on_retry = |error, retry| …`.
    pub on_retry: Option<Expr>,
    /// `budget = PATH`, a `static` `RetryBudget`.
    pub budget: Option<ExprPath>,
    /// `policy = PATH`, a `const` `Policy` the other keys override.
    pub policy: Option<ExprPath>,
    /// `vta_key = true | false`, with the literal's span.
    pub vta_key: Option<(bool, Span)>,
    /// `crate = path`.
    pub crate_path: Option<Path>,
}

/// The value of `jitter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitterKind {
    /// `"none"`.
    None,
    /// `"full"`.
    Full,
    /// `"equal"`.
    Equal,
}

/// The value of `attempts`.
pub enum Attempts {
    /// A literal, such as `3` or `3u32`, with its span.
    Count(u64, Span),
    /// A `const` of an integer type, checked at least 1 when the user's crate compiles.
    Const(ExprPath),
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
    let read = |input: ParseStream| -> syn::Result<()> {
        while !input.is_empty() {
            if input.peek(syn::Token![,]) {
                let comma: syn::Token![,] = input.parse()?;
                errors.push(syn::Error::new(
                    comma.span,
                    "expected `key = value` before this comma",
                ));
                continue;
            }
            if let Err(error) = args.read_entry(input) {
                errors.push(error);
                skip_value(input)?;
            }
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(())
    };
    if let Err(error) = read.parse2(tokens) {
        errors.push(error);
    }
    (args, errors)
}

/// Skips what is left of a value that was wrong, up to the comma that ends it.
fn skip_value(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// The tokens of the value `input` starts at, up to the comma that ends it.
fn value_tokens(input: ParseStream) -> TokenStream {
    let mut cursor = input.cursor();
    let mut tokens = TokenStream::new();
    while let Some((tree, next)) = cursor.token_tree() {
        if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
            break;
        }
        tokens.extend([tree]);
        cursor = next;
    }
    tokens
}

/// Whether `input` is at the end of a value: a comma, or the end of the attribute.
fn at_value_end(input: ParseStream) -> bool {
    input.is_empty() || input.peek(syn::Token![,])
}

impl Args {
    /// Reads one `key = value` entry into its key's slot: one setter per key, each rejecting a
    /// second value.
    fn read_entry(&mut self, input: ParseStream) -> syn::Result<()> {
        let key = match input.parse::<TokenTree>()? {
            TokenTree::Ident(key) => key,
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    format!(
                        "expected `key = value`, found `{other}`; the keys are {}",
                        key_list()
                    ),
                ));
            }
        };
        let name = key.to_string();
        if !KEYS.contains(&name.as_str()) {
            return Err(syn::Error::new(key.span(), unknown_key_message(&name)));
        }
        if at_value_end(input) {
            return Err(syn::Error::new(key.span(), missing_value_message(&name)));
        }
        match input.parse::<TokenTree>()? {
            TokenTree::Punct(eq) if eq.as_char() == '=' => {
                if at_value_end(input) {
                    return Err(syn::Error::new(eq.span(), missing_value_message(&name)));
                }
            }
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    format!("expected `=` after `{name}`, found `{other}`"),
                ));
            }
        }
        match name.as_str() {
            "attempts" => set_once(&mut self.attempts, &key, parse_attempts, input),
            "backoff" => set_once(&mut self.backoff, &key, parse_backoff, input),
            "jitter" => set_once(&mut self.jitter, &key, parse_jitter, input),
            "timeout" => set_once(&mut self.timeout, &key, duration_value("timeout"), input),
            "max_elapsed" => set_once(
                &mut self.max_elapsed,
                &key,
                duration_value("max_elapsed"),
                input,
            ),
            "max_hint" => set_once(&mut self.max_hint, &key, duration_value("max_hint"), input),
            "retry_if" => set_once(&mut self.retry_if, &key, fn_value("retry_if"), input),
            "on_retry" => set_once(&mut self.on_retry, &key, fn_value("on_retry"), input),
            "budget" => set_once(&mut self.budget, &key, path_value("budget"), input),
            "policy" => set_once(&mut self.policy, &key, path_value("policy"), input),
            "vta_key" => set_once(&mut self.vta_key, &key, parse_vta_key, input),
            _ => set_once(&mut self.crate_path, &key, parse_crate_path, input),
        }
    }
}

/// Fills one key's slot from the value `input` starts at, rejecting a second value for it.
fn set_once<T>(
    slot: &mut Option<T>,
    key: &Ident,
    parse: impl FnOnce(ParseStream) -> syn::Result<T>,
    input: ParseStream,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` is set more than once"),
        ));
    }
    *slot = Some(parse(input)?);
    Ok(())
}

fn key_list() -> String {
    KEYS.map(|k| format!("`{k}`")).join(", ")
}

fn unknown_key_message(name: &str) -> String {
    let hint = match name {
        "attempt" | "retries" | "max_retries" | "max_attempts" | "tries" | "times" => {
            "did you mean `attempts`? It counts every call, the first included"
        }
        "delay" | "wait" | "backoffs" | "interval" | "sleep" | "initial_delay" | "min_delay"
        | "base_delay" => {
            "did you mean `backoff`? It is the first wait, or `\"A..B\"` from the first to a cap"
        }
        "max_delay" | "max_backoff" | "cap" | "max_interval" => {
            "did you mean `backoff`? Its cap is the end of a range: `backoff = \"500ms..1s\"` waits at most 1s"
        }
        "retry_on" | "when" | "if" | "classifier" | "is_transient" | "retryable" => {
            "did you mean `retry_if`?"
        }
        "krate" | "crate_path" | "runtime" => "did you mean `crate`?",
        "deadline" | "total_timeout" | "max_duration" | "max_time" | "max_elapsed_time" => {
            "did you mean `max_elapsed`? It bounds the whole call"
        }
        "attempt_timeout" | "per_attempt_timeout" | "timeout_per_attempt" => {
            "did you mean `timeout`? It bounds each attempt"
        }
        "on_error" | "notify" | "hook" | "on_failure" | "before_retry" => {
            "did you mean `on_retry`?"
        }
        "randomize" | "randomization" | "spread" => "did you mean `jitter`?",
        "max_retry_after" | "retry_after" | "max_wait" => "did you mean `max_hint`?",
        "config" | "defaults" | "base" => "did you mean `policy`?",
        "retry_budget" | "throttle" | "throttling" | "quota" | "retry_quota" => {
            "did you mean `budget`?"
        }
        "idempotency_key" | "idempotent" | "key" | "vta_idempotency_key" | "keyed" => {
            "did you mean `vta_key`? It sends one VTA idempotency key with every attempt"
        }
        _ => "",
    };
    let suggestion = match hint {
        "" => closest(name, &KEYS).map(|meant| format!("did you mean `{meant}`? ")),
        hint if hint.ends_with('?') => Some(format!("{hint} ")),
        hint => Some(format!("{hint}; ")),
    };
    format!(
        "unknown key `{name}`; {}the keys are {}",
        suggestion.unwrap_or_default(),
        key_list()
    )
}

fn missing_value_message(name: &str) -> String {
    let example = match name {
        "attempts" => "attempts = 3",
        "backoff" => "backoff = \"500ms..1s\"",
        "jitter" => "jitter = \"full\"",
        "timeout" => "timeout = \"5s\"",
        "max_elapsed" => "max_elapsed = \"10s\"",
        "max_hint" => "max_hint = \"30s\"",
        "retry_if" => "retry_if = path::to::is_transient",
        "on_retry" => "on_retry = path::to::log_retry",
        "budget" => "budget = path::to::BUDGET",
        "policy" => "policy = path::to::POLICY",
        "vta_key" => "vta_key = true",
        _ => "crate = path::to::vta_retry_runtime",
    };
    format!("`{name}` needs a value, such as `{example}`")
}

/// Anything between the value and the comma that ends it is a mistake; name what was found.
fn expect_end(input: ParseStream, key: &str) -> syn::Result<()> {
    if at_value_end(input) {
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

fn parse_attempts(input: ParseStream) -> syn::Result<Attempts> {
    let expected =
        "`attempts` takes a whole number, such as `attempts = 3`, or the name of a `const`";
    if input.peek(syn::Token![-]) {
        let minus: syn::Token![-] = input.parse()?;
        return Err(syn::Error::new(
            minus.span,
            "`attempts` cannot be negative: it counts every call, the first included",
        ));
    }
    let path_start = input.peek(Ident)
        || input.peek(syn::Token![Self])
        || input.peek(syn::Token![self])
        || input.peek(syn::Token![crate])
        || input.peek(syn::Token![super])
        || input.peek(syn::Token![::])
        || input.peek(syn::Token![<]);
    if path_start {
        let path: ExprPath = input.parse()?;
        expect_operand_end(input)?;
        return Ok(Attempts::Const(path));
    }
    let attempts = match next_value(input)? {
        Ok(Lit::Int(int)) if int.suffix().is_empty() || INTEGER_TYPES.contains(&int.suffix()) => {
            let value = int
                .base10_parse::<u64>()
                .map_err(|_| syn::Error::new(int.span(), "`attempts` is too large"))?;
            Attempts::Count(value, int.span())
        }
        Ok(other) => return Err(syn::Error::new(other.span(), expected)),
        Err(other) => return Err(syn::Error::new(other.span(), expected)),
    };
    expect_operand_end(input)?;
    Ok(attempts)
}

/// [`expect_end`] for `attempts`, whose value is an operand when an expression follows it
/// (`attempts = RETRIES + 1`): the grammar has no room for one, and says how to write it.
fn expect_operand_end(input: ParseStream) -> syn::Result<()> {
    if let Some((TokenTree::Punct(operator), _)) = input.cursor().token_tree() {
        if "+-*/%<>&|^.".contains(operator.as_char()) {
            return Err(syn::Error::new(
                operator.span(),
                "`attempts` takes an integer or the path of a `const`, not an expression: name it \
                 (`const ATTEMPTS: u32 = …;`) and write `attempts = ATTEMPTS`",
            ));
        }
    }
    expect_end(input, "attempts")
}

fn parse_backoff(input: ParseStream) -> syn::Result<(BackoffText, Span)> {
    let expected =
        "`backoff` takes a string, such as `backoff = \"500ms..1s\"` or `backoff = \"1s\"`";
    let text = match next_value(input)? {
        Ok(Lit::Str(text)) => text,
        // `backoff = 500ms` lexes as an integer with suffix `ms`: the quotes were forgotten.
        // `backoff = 500` forgot the unit too; milliseconds are the usual scale of a backoff.
        Ok(Lit::Int(number)) => {
            let unit = if number.suffix().is_empty() { "ms" } else { "" };
            return Err(syn::Error::new(
                number.span(),
                format!("`backoff` takes a string: write `backoff = \"{number}{unit}\"`"),
            ));
        }
        Ok(Lit::Float(number)) => {
            let unit = if number.suffix().is_empty() { "s" } else { "" };
            return Err(syn::Error::new(
                number.span(),
                format!("`backoff` takes a string: write `backoff = \"{number}{unit}\"`"),
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

fn parse_path_value<T>(
    input: ParseStream,
    key: &str,
    parse: impl FnOnce(ParseStream) -> syn::Result<T>,
) -> syn::Result<T> {
    let hint = match key {
        "retry_if" => {
            "a path to a `fn(&E) -> bool` or a closure, such as `retry_if = errors::is_transient`"
        }
        "on_retry" => {
            "a path to a `fn(&E, &RetryEvent)` or a closure, such as `on_retry = log_retry`"
        }
        "budget" => "the path of a `static` `RetryBudget`, such as `budget = VTA_BUDGET`",
        "policy" => "the path of a `const` `Policy`, such as `policy = VTA_CALLS`",
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
    let whole = value_tokens(input);
    let value =
        parse(input).map_err(|e| syn::Error::new(e.span(), format!("`{key}` takes {hint}")))?;
    if !at_value_end(input) && matches!(key, "policy" | "budget") {
        return Err(syn::Error::new_spanned(&whole, item_expected(key, &whole)));
    }
    expect_end(input, key)?;
    Ok(value)
}

/// For `policy = Policy::DEFAULT.with_attempts(5)`, `budget = RetryBudget::new(10, 0.1)`: the key
/// names an item, and the message shows the item to write.
fn item_expected(key: &str, expression: &TokenStream) -> String {
    let expression = crate::tokens::as_written(expression);
    if key == "policy" {
        format!(
            "`policy` takes the path of a `const`, not an expression: define it once, \
             `const POLICY: Policy = {expression};`, and write `policy = POLICY`"
        )
    } else {
        format!(
            "`budget` takes the path of a `static`, not an expression: a budget is one `static` shared by \
             every function that names it, so define it once, `static BUDGET: RetryBudget = {expression};`, \
             and write `budget = BUDGET`"
        )
    }
}

/// `vta_key = true` or `vta_key = false`.
fn parse_vta_key(input: ParseStream) -> syn::Result<(bool, Span)> {
    let value = match next_value(input)? {
        Ok(Lit::Bool(value)) => (value.value, value.span),
        Ok(Lit::Str(text)) if matches!(text.value().as_str(), "true" | "false") => {
            return Err(syn::Error::new(
                text.span(),
                format!(
                    "`vta_key` takes `true` or `false`, not a string: write `vta_key = {}`",
                    text.value()
                ),
            ));
        }
        Ok(other) => return Err(syn::Error::new(other.span(), VTA_KEY_EXPECTED)),
        Err(other) => return Err(syn::Error::new(other.span(), VTA_KEY_EXPECTED)),
    };
    expect_end(input, "vta_key")?;
    Ok(value)
}

const VTA_KEY_EXPECTED: &str = "`vta_key` takes `true` (every attempt dispatches under one vta-sdk idempotency key) or `false`";

/// The parser of a key that takes a function: a path, or a closure.
fn fn_value(key: &'static str) -> impl FnOnce(ParseStream) -> syn::Result<Expr> {
    move |input| {
        let closure = input.peek(syn::Token![|])
            || input.peek(syn::Token![||])
            || input.peek(syn::Token![move]);
        if closure {
            let closure: syn::ExprClosure = input.parse()?;
            expect_end(input, key)?;
            return Ok(Expr::Closure(closure));
        }
        parse_path_value(input, key, |input| {
            let path: ExprPath = input.parse()?;
            if !path.attrs.is_empty() {
                return Err(syn::Error::new_spanned(
                    &path.attrs[0],
                    "unexpected attribute",
                ));
            }
            Ok(Expr::Path(path))
        })
    }
}

/// The parser of a key that takes the path of an item: `policy`, `budget`.
fn path_value(key: &'static str) -> impl FnOnce(ParseStream) -> syn::Result<ExprPath> {
    move |input| parse_path_value(input, key, <ExprPath as Parse>::parse)
}

/// The parser of a key that takes one duration, such as `timeout = "5s"`.
fn duration_value(key: &'static str) -> impl FnOnce(ParseStream) -> syn::Result<(Duration, Span)> {
    move |input| {
        let expected = format!("`{key}` takes a duration in a string, such as `{key} = \"5s\"`");
        let text = match next_value(input)? {
            Ok(Lit::Str(text)) => text,
            Ok(Lit::Int(number)) => {
                let unit = if number.suffix().is_empty() { "s" } else { "" };
                return Err(syn::Error::new(
                    number.span(),
                    format!("`{key}` takes a string: write `{key} = \"{number}{unit}\"`"),
                ));
            }
            Ok(other) => return Err(syn::Error::new(other.span(), expected)),
            Err(other) => return Err(syn::Error::new(other.span(), expected)),
        };
        expect_end(input, key)?;
        let duration =
            parse_duration(&text.value()).map_err(|error| syn::Error::new(text.span(), error))?;
        Ok((duration, text.span()))
    }
}

fn parse_jitter(input: ParseStream) -> syn::Result<JitterKind> {
    let expected = "`jitter` is one of `\"none\"`, `\"full\"` (each wait uniform in [0, d]) or `\"equal\"` (d/2 plus uniform in [0, d/2])";
    let text = match next_value(input)? {
        Ok(Lit::Str(text)) => text,
        Ok(other) => return Err(syn::Error::new(other.span(), expected)),
        // `jitter = full` forgot the quotes.
        Err(TokenTree::Ident(word))
            if ["none", "full", "equal"].contains(&word.to_string().as_str()) =>
        {
            return Err(syn::Error::new(
                word.span(),
                format!("`jitter` takes a string: write `jitter = \"{word}\"`"),
            ));
        }
        Err(other) => return Err(syn::Error::new(other.span(), expected)),
    };
    expect_end(input, "jitter")?;
    match text.value().as_str() {
        "none" => Ok(JitterKind::None),
        "full" => Ok(JitterKind::Full),
        "equal" => Ok(JitterKind::Equal),
        other => Err(syn::Error::new(
            text.span(),
            format!("unknown jitter `{other}`: {expected}"),
        )),
    }
}

fn parse_crate_path(input: ParseStream) -> syn::Result<Path> {
    crate::runtime_path::parse_crate_path(input)
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
        assert!(matches!(args.attempts, Some(Attempts::Count(5, _))));
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
    fn an_unknown_key_is_answered_with_the_key_it_meant() {
        let message = unknown_key_message("delay");
        assert!(
            message
                .starts_with("unknown key `delay`; did you mean `backoff`? It is the first wait"),
            "{message}"
        );
        assert!(!message.contains("?;"), "{message}");
        let message = unknown_key_message("max_delay");
        assert!(
            message.contains("Its cap is the end of a range"),
            "{message}"
        );
        let message = unknown_key_message("deadline");
        assert!(
            message.contains("It bounds the whole call; the keys are"),
            "{message}"
        );
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
        assert!(matches!(args.attempts, Some(Attempts::Count(4, _))));
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

    #[test]
    fn attempts_take_suffixed_literals_and_const_paths() {
        for literal in [quote!(3u32), quote!(3usize), quote!(3i64)] {
            let args = parse_args(quote!(attempts = #literal)).unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(args.attempts, Some(Attempts::Count(3, _))));
        }
        for path in [
            quote!(MAX),
            quote!(config::MAX),
            quote!(Self::MAX),
            quote!(<T as Limits>::MAX),
        ] {
            let args = parse_args(quote!(attempts = #path)).unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(args.attempts, Some(Attempts::Const(_))), "{path}");
        }
        assert_eq!(errors_of(quote!(attempts = 3f32)).len(), 1);
        assert_eq!(errors_of(quote!(attempts = 2.5)).len(), 1);
    }

    #[test]
    fn retry_if_takes_a_closure_with_commas_in_it() {
        let args = parse_args(quote!(
            retry_if = |e, _n| matches!(e, A | B) || x(e, 1),
            attempts = 2,
            retry_if2 = 3
        ));
        let errors = args.err().map(|e| e.into_iter().count());
        assert_eq!(errors, Some(1), "only the unknown key is an error");
        let args = parse_args(quote!(retry_if = move |e| e.is_transient(), attempts = 2))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(args.retry_if, Some(Expr::Closure(_))));
        assert!(matches!(args.attempts, Some(Attempts::Count(2, _))));
        let args = parse_args(quote!(retry_if = || true)).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(args.retry_if, Some(Expr::Closure(_))));
    }
}
