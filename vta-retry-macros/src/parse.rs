//! The grammar: the attribute's `key = value` list and the annotated function.
//!
//! Every function here takes `proc_macro2` tokens and returns a value or a spanned `syn::Error`, so
//! the grammar is unit- and property-tested outside a macro expansion. Errors are collected, not
//! returned at the first one: a user with three mistakes in one attribute sees three errors.

use std::time::Duration;

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, Expr, ExprPath, Ident, Lit, Path, Signature, Visibility};

use crate::diagnostics::{Errors, closest};
use crate::duration::{DurationError, parse_duration};

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

/// Splits on the commas between entries. A closure's parameters (`|a, b|`) are not entries: the
/// commas between two `|` of a `retry_if` closure stay in its value.
fn split_on_commas(tokens: TokenStream) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut current = Vec::new();
    let mut in_closure_params = false;
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == '|' => {
                in_closure_params = !in_closure_params && starts_value(&current);
                current.push(tree);
            }
            TokenTree::Punct(p) if p.as_char() == ',' && !in_closure_params => {
                entries.push(Entry {
                    tokens: std::mem::take(&mut current),
                    comma: p.span(),
                });
            }
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

/// Whether a `|` read after `tokens` opens a closure's parameter list: it is the first token of
/// the value, after `key =` and an optional `move`.
fn starts_value(tokens: &[TokenTree]) -> bool {
    let before_value = match tokens {
        [.., TokenTree::Ident(kw)] if kw == "move" => &tokens[..tokens.len() - 1],
        _ => tokens,
    };
    matches!(before_value, [TokenTree::Ident(_), TokenTree::Punct(eq)] if eq.as_char() == '=')
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
        let value: TokenStream = match tokens.next() {
            Some(TokenTree::Punct(eq)) if eq.as_char() == '=' => {
                let value: TokenStream = tokens.collect();
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
        match name.as_str() {
            "attempts" => set_once(&mut self.attempts, &key, parse_attempts, value),
            "backoff" => set_once(&mut self.backoff, &key, parse_backoff, value),
            "jitter" => set_once(&mut self.jitter, &key, parse_jitter, value),
            "timeout" => set_once(&mut self.timeout, &key, duration_value("timeout"), value),
            "max_elapsed" => set_once(
                &mut self.max_elapsed,
                &key,
                duration_value("max_elapsed"),
                value,
            ),
            "max_hint" => set_once(&mut self.max_hint, &key, duration_value("max_hint"), value),
            "retry_if" => set_once(&mut self.retry_if, &key, fn_value("retry_if"), value),
            "on_retry" => set_once(&mut self.on_retry, &key, fn_value("on_retry"), value),
            "budget" => set_once(&mut self.budget, &key, path_value("budget"), value),
            "policy" => set_once(&mut self.policy, &key, path_value("policy"), value),
            "vta_key" => set_once(&mut self.vta_key, &key, parse_vta_key, value),
            _ => set_once(&mut self.crate_path, &key, parse_crate_path, value),
        }
    }
}

/// Fills one key's slot, rejecting a second value for it.
fn set_once<T>(
    slot: &mut Option<T>,
    key: &Ident,
    parse: impl FnOnce(ParseStream) -> syn::Result<T>,
    value: TokenStream,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` is set more than once"),
        ));
    }
    *slot = Some(parse.parse2(value)?);
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
        "delay" | "wait" | "backoffs" | "interval" | "sleep" => "did you mean `backoff`?",
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

/// The integer types an `attempts` literal may be suffixed with.
const INTEGER_SUFFIXES: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

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
        expect_end(input, "attempts")?;
        return Ok(Attempts::Const(path));
    }
    let attempts = match next_value(input)? {
        Ok(Lit::Int(int))
            if int.suffix().is_empty() || INTEGER_SUFFIXES.contains(&int.suffix()) =>
        {
            let value = int
                .base10_parse::<u64>()
                .map_err(|_| syn::Error::new(int.span(), "`attempts` is too large"))?;
            Attempts::Count(value, int.span())
        }
        Ok(other) => return Err(syn::Error::new(other.span(), expected)),
        Err(other) => return Err(syn::Error::new(other.span(), expected)),
    };
    expect_end(input, "attempts")?;
    Ok(attempts)
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

/// Why a `backoff` string is not `"A..B"` or `"A"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackoffError {
    /// One of the durations is wrong.
    Duration(DurationError),
    /// A range written another way, such as `500ms-1s` or `500ms..=1s`: the text as written.
    RangeSyntax(String),
    /// More than two durations, such as `500ms..1s..2s`.
    TooManyParts(String),
}

impl std::fmt::Display for BackoffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Duration(error) => error.fmt(f),
            Self::RangeSyntax(text) => write!(
                f,
                "`{text}` is not a backoff: write a range as `\"A..B\"`, such as `\"500ms..1s\"`"
            ),
            Self::TooManyParts(text) => write!(
                f,
                "`{text}` has more than two durations: a backoff is `\"A..B\"` (wait A, doubling up to B) or `\"A\"` (always A)"
            ),
        }
    }
}

/// `"A..B"` or `"A"`. Both halves are read even when the first is wrong, so both are reported.
pub fn parse_backoff_text(text: &str) -> Result<BackoffText, Vec<BackoffError>> {
    let trimmed = text.trim();
    if trimmed.matches("..").count() > 1 && !trimmed.contains("...") {
        return Err(vec![BackoffError::TooManyParts(trimmed.to_owned())]);
    }
    if looks_like_another_range_syntax(trimmed) {
        return Err(vec![BackoffError::RangeSyntax(trimmed.to_owned())]);
    }
    let duration = |text: &str| parse_duration(text).map_err(BackoffError::Duration);
    match text.split_once("..") {
        None => duration(text)
            .map(|first| BackoffText { first, max: None })
            .map_err(|e| vec![e]),
        Some((first, max)) => match (duration(first), duration(max)) {
            (Ok(first), Ok(max)) => Ok(BackoffText {
                first,
                max: Some(max),
            }),
            (first, max) => Err([first.err(), max.err()].into_iter().flatten().collect()),
        },
    }
}

/// `500ms-1s`, `500ms – 1s`, `500ms..=1s`, `500ms...1s`, `500ms to 1s`: two durations joined by
/// something other than `..`.
fn looks_like_another_range_syntax(text: &str) -> bool {
    let joiners = ["..=", "...", "-", "\u{2013}", "\u{2014}", " to "];
    joiners.iter().any(|joiner| {
        text.split_once(joiner).is_some_and(|(a, b)| {
            let a = a.trim().trim_end_matches('.');
            let b = b.trim().trim_start_matches(['.', '=']);
            starts_with_digit(a) && starts_with_digit(b)
        })
    })
}

fn starts_with_digit(text: &str) -> bool {
    text.trim().starts_with(|c: char| c.is_ascii_digit())
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
    let whole = input.fork().parse::<TokenStream>()?;
    let value =
        parse(input).map_err(|e| syn::Error::new(e.span(), format!("`{key}` takes {hint}")))?;
    if !input.is_empty() && matches!(key, "policy" | "budget") {
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
    parse_path_value(input, "crate", Path::parse_mod_style)
}

/// The annotated function. The body of an `async fn` is kept as raw tokens: the expansion never
/// looks inside it, and not parsing it keeps the macro fast on large functions and working on
/// half-typed ones.
pub struct RetryFn {
    /// Outer attributes, doc comments included, re-emitted untouched.
    pub attrs: Vec<Attribute>,
    /// The visibility, re-emitted untouched.
    pub vis: Visibility,
    /// The signature, re-emitted untouched.
    pub sig: Signature,
    /// The `{ … }` body, and what wrote it.
    pub body: Body,
}

/// The body of the annotated function.
pub enum Body {
    /// The `{ … }` of an `async fn`, as the user wrote it (or as a macro above this one left it).
    Async(Group),
    /// A plain `fn` that returns an `async` block, as the user wrote it or as `#[async_trait]`
    /// rewrote an `async fn`.
    Future(Box<FutureBody>),
    /// The body of any other function: not one `#[vta_retry]` can retry.
    Other(Group),
}

/// A plain `fn` whose body ends in an `async` block, boxed or not:
///
/// ```text
/// fn f(&self) -> impl Future<Output = Ret> + Send {
///     async move { USER BODY }                     // ← the attempt: the block's statements
/// }
///
/// // What `#[async_trait]` makes of an `async fn`:
/// fn f<'life0, 'async_trait>(&'life0 self) -> Pin<Box<dyn Future<Output = Ret> + Send + 'async_trait>> {
///     Box::pin(async move {
///         if let Some(__ret) = None::<Ret> { return __ret; }  // ties the type
///         let __self = self;                                   // the arguments, moved in once
///         let __ret: Ret = { USER BODY };                      // ← the attempt
///         __ret
///     })
/// }
/// ```
///
/// The arguments are moved into the future once, above the attempt, so retrying only the attempt
/// re-borrows them (`&mut self` included) each time, and the boxing and its `Send` bound are left
/// as they are.
pub struct FutureBody {
    /// The whole body, re-emitted with the attempt's block replaced by the retry loop.
    pub block: syn::Block,
    /// The type the attempt evaluates to: the future's `Output`.
    pub outcome: syn::Type,
}

impl FutureBody {
    /// Recognises the shapes above in a plain `fn`'s body.
    fn recognise(sig: &Signature, body: &Group) -> Option<Self> {
        let mut block: syn::Block = syn::parse2(body.to_token_stream()).ok()?;
        let outcome = Self::attempt(&mut block, sig)?.1;
        Some(Self { block, outcome })
    }

    /// The statements `#[async_trait]` puts before the user's body (the arguments moved in),
    /// when the body is its shape.
    pub fn moved_in(block: &syn::Block) -> Option<&[syn::Stmt]> {
        let future = match block.stmts.last() {
            Some(syn::Stmt::Expr(Expr::Async(future), None)) => future,
            Some(syn::Stmt::Expr(Expr::Call(call), None)) if is_box_pin(call) => {
                match call.args.first() {
                    Some(Expr::Async(future)) => future,
                    _ => return None,
                }
            }
            _ => return None,
        };
        let body = future.block.stmts.iter().position(is_async_trait_body)?;
        Some(&future.block.stmts[..body])
    }

    /// The block to run once per attempt, with the type it evaluates to.
    pub fn attempt<'a>(
        block: &'a mut syn::Block,
        sig: &Signature,
    ) -> Option<(&'a mut syn::Block, syn::Type)> {
        let future = match block.stmts.last_mut() {
            Some(syn::Stmt::Expr(Expr::Async(future), None)) => future,
            Some(syn::Stmt::Expr(Expr::Call(call), None)) if is_box_pin(call) => {
                match call.args.first_mut() {
                    Some(Expr::Async(future)) => future,
                    _ => return None,
                }
            }
            _ => return None,
        };
        let async_trait_body = future.block.stmts.iter().position(is_async_trait_body);
        if let Some(index) = async_trait_body {
            let syn::Stmt::Local(local) = &mut future.block.stmts[index] else {
                return None;
            };
            let syn::Pat::Type(typed) = &local.pat else {
                return None;
            };
            let outcome = (*typed.ty).clone();
            let Some(Expr::Block(user)) = local.init.as_mut().map(|init| &mut *init.expr) else {
                return None;
            };
            return Some((&mut user.block, outcome));
        }
        let outcome = future_output(&sig.output)?;
        Some((&mut future.block, outcome))
    }
}

/// `let __ret: Ret = { … };`, where `#[async_trait]` puts the user's body.
fn is_async_trait_body(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(local)
        if matches!(&local.pat, syn::Pat::Type(typed)
            if matches!(&*typed.pat, syn::Pat::Ident(ident) if ident.ident == "__ret"))
        && matches!(local.init.as_ref().map(|init| &*init.expr), Some(Expr::Block(_))))
}

/// `Box::pin(…)` with one argument, however `Box` is named.
fn is_box_pin(call: &syn::ExprCall) -> bool {
    let Expr::Path(callee) = &*call.func else {
        return false;
    };
    let mut segments = callee.path.segments.iter().rev();
    let is_pin = segments.next().is_some_and(|s| s.ident == "pin");
    let is_box = segments.next().is_some_and(|s| s.ident == "Box");
    is_pin && is_box && call.args.len() == 1
}

/// `T` in a return type `impl Future<Output = T> + …` or `Pin<Box<dyn Future<Output = T> + …>>`.
fn future_output(output: &syn::ReturnType) -> Option<syn::Type> {
    fn find(tokens: TokenStream) -> Option<syn::Type> {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            if let TokenTree::Ident(ident) = tree {
                let next_is_eq =
                    matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '=');
                if ident == "Output" && next_is_eq {
                    let rest: TokenStream = trees[i + 2..].iter().cloned().collect();
                    return syn::parse::Parser::parse2(
                        |input: ParseStream| {
                            let ty: syn::Type = input.parse()?;
                            input.parse::<TokenStream>()?;
                            Ok(ty)
                        },
                        rest,
                    )
                    .ok();
                }
            }
            if let TokenTree::Group(group) = tree {
                if let Some(found) = find(group.stream()) {
                    return Some(found);
                }
            }
        }
        None
    }
    match output {
        syn::ReturnType::Type(_, ty) => find(ty.to_token_stream()),
        syn::ReturnType::Default => None,
    }
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
        let body = if sig.asyncness.is_some() {
            Body::Async(body)
        } else if let Some(future) = FutureBody::recognise(&sig, &body) {
            Body::Future(Box::new(future))
        } else {
            Body::Other(body)
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

    #[test]
    fn a_range_written_another_way_is_named_as_such() {
        for text in [
            "500ms-1s",
            "500ms - 1s",
            "500ms..=1s",
            "500ms...1s",
            "500ms to 1s",
        ] {
            assert_eq!(
                parse_backoff_text(text),
                Err(vec![BackoffError::RangeSyntax(text.to_owned())]),
                "{text}"
            );
        }
        assert_eq!(
            parse_backoff_text("500ms..1s..2s"),
            Err(vec![BackoffError::TooManyParts("500ms..1s..2s".to_owned())])
        );
        assert!(matches!(
            parse_backoff_text("5sec"),
            Err(errors) if matches!(errors[..], [BackoffError::Duration(_)])
        ));
    }
}
