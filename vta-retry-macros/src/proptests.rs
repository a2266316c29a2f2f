//! Property tests of the grammars and the duration parser: any input gives a value or a spanned
//! error, never a panic, and every valid duration survives display and parse. The same holds of
//! `#[derive(Retryable)]`'s attributes, and the derive always emits an impl.

use std::str::FromStr;
use std::time::Duration;

use proc_macro2::TokenStream;
use proptest::prelude::*;

use crate::attr::parse_args;
use crate::derive::{Place, parse_tokens};
use crate::diagnostics::Errors;
use crate::duration::{display_duration, parse_duration};

/// Pieces an attribute is made of, right and wrong, so random lists reach past the first check.
fn attribute_piece() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("attempts".to_owned()),
        Just("backoff".to_owned()),
        Just("retry_if".to_owned()),
        Just("crate".to_owned()),
        "[a-z_]{1,8}",
    ];
    let value = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        "-?[0-9]{1,3}(\\.[0-9]{0,2})?[a-z]{0,2}",
        "\"[0-9. a-z]{0,12}(\\.\\.[0-9. a-z]{0,8})?\"",
        "[a-z]{1,5}(::[a-z]{1,5}){0,2}",
        Just("|e| true".to_owned()),
        Just("(1, 2)".to_owned()),
        Just(String::new()),
    ];
    let separator = prop_oneof![Just(" = "), Just(" "), Just(" : "), Just("")];
    (key, separator, value).prop_map(|(k, s, v)| format!("{k}{s}{v}"))
}

/// Pieces a `#[retryable(...)]` attribute is made of, right and wrong.
fn derive_piece() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("transient".to_owned()),
        Just("transient_if".to_owned()),
        Just("delegate".to_owned()),
        Just("retry_after".to_owned()),
        Just("crate".to_owned()),
        "[a-z_]{1,8}",
        Just("\"transient\"".to_owned()),
    ];
    let value = prop_oneof![
        Just(String::new()),
        "[a-z]{1,5}(::[a-z]{1,5}){0,2}",
        Just("Self::is_5xx".to_owned()),
        Just("f::<A, B>".to_owned()),
        Just("|e| true".to_owned()),
        Just("\"x\"".to_owned()),
        any::<u8>().prop_map(|n| n.to_string()),
        Just("(a, b)".to_owned()),
    ];
    let separator = prop_oneof![Just(" = "), Just(" "), Just(""), Just(" : ")];
    (key, separator, value).prop_map(|(k, s, v)| format!("{k}{s}{v}"))
}

fn place(index: usize) -> Place {
    [Place::Struct, Place::Enum, Place::Variant, Place::Field][index % 4]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_token_stream_is_derive_keys_or_spanned_errors(text in "\\PC{0,40}", at in 0usize..4) {
        if let Ok(tokens) = TokenStream::from_str(&text) {
            check_keys(tokens, place(at))?;
        }
    }

    #[test]
    fn any_list_of_derive_pieces_is_keys_or_spanned_errors(
        pieces in proptest::collection::vec(derive_piece(), 0..6),
        separator in prop_oneof![Just(", "), Just(" "), Just(",, ")],
        at in 0usize..4,
    ) {
        if let Ok(tokens) = TokenStream::from_str(&pieces.join(separator)) {
            check_keys(tokens, place(at))?;
        }
    }

    #[test]
    fn the_whole_derive_never_panics_and_always_emits_an_impl(
        on_type in proptest::collection::vec(derive_piece(), 0..3),
        on_variant in proptest::collection::vec(derive_piece(), 0..3),
        on_field in proptest::collection::vec(derive_piece(), 0..3),
        fields in 0usize..3,
        is_struct in any::<bool>(),
    ) {
        let attr = |pieces: &[String]| format!("#[retryable({})]", pieces.join(", "));
        let fields = ["", "(#FIELD u8)", "(#FIELD std::time::Duration, E)"][fields]
            .replace("#FIELD", &attr(&on_field));
        let text = if is_struct {
            format!("{} {} struct S<E>{fields};", attr(&on_type), attr(&on_variant))
        } else {
            format!("{} enum S<E> {{ {} V{fields}, W }}", attr(&on_type), attr(&on_variant))
        };
        let Ok(input) = TokenStream::from_str(&text) else { return Ok(()) };
        let output = crate::derive::derive(input).to_string();
        prop_assert!(output.contains("fn is_transient"), "no impl: {}", output);
    }

    #[test]
    fn any_string_is_a_duration_or_an_error(text in "\\PC{0,24}") {
        let _ = parse_duration(&text);
    }

    #[test]
    fn number_unit_strings_are_read_exactly(n in 0u64..1_000_000, unit in 0usize..6) {
        let (name, nanos) = [("ns", 1u64), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
            ("m", 60_000_000_000), ("h", 3_600_000_000_000)][unit];
        // At most 1e6 h = 3.6e18 ns, inside a u64.
        prop_assert_eq!(parse_duration(&format!("{n}{name}")), Ok(Duration::from_nanos(n * nanos)));
    }

    #[test]
    fn display_then_parse_is_the_identity(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
        let duration = Duration::new(secs, nanos);
        prop_assert_eq!(parse_duration(&display_duration(duration)), Ok(duration));
    }

    #[test]
    fn display_then_parse_is_the_identity_for_round_values(millis in 0u64..10_000_000) {
        let duration = Duration::from_millis(millis);
        prop_assert_eq!(parse_duration(&display_duration(duration)), Ok(duration));
    }

    #[test]
    fn any_token_stream_is_arguments_or_spanned_errors(text in "\\PC{0,40}") {
        // Strings that do not lex are not token streams; everything else must parse or fail.
        if let Ok(tokens) = TokenStream::from_str(&text) {
            check_arguments(tokens)?;
        }
    }

    #[test]
    fn any_list_of_pieces_is_arguments_or_spanned_errors(
        pieces in proptest::collection::vec(attribute_piece(), 0..6),
    ) {
        let text = pieces.join(", ");
        if let Ok(tokens) = TokenStream::from_str(&text) {
            check_arguments(tokens)?;
        }
    }

    #[test]
    fn the_whole_macro_never_panics_and_always_keeps_the_function(
        pieces in proptest::collection::vec(attribute_piece(), 0..4),
        is_async in any::<bool>(),
    ) {
        let Ok(args) = TokenStream::from_str(&pieces.join(", ")) else { return Ok(()) };
        let item = TokenStream::from_str(&format!(
            "pub {} fn keep_me(x: &u8) -> Result<u8, E> {{ Ok(*x) }}",
            if is_async { "async" } else { "" },
        )).expect("a valid function");
        let output = crate::attr::vta_retry(args, item).to_string();
        prop_assert!(output.contains("keep_me"), "the function was lost: {}", output);
    }
}

fn check_arguments(tokens: TokenStream) -> Result<(), TestCaseError> {
    if let Err(errors) = parse_args(tokens) {
        for error in errors {
            prop_assert!(!error.to_string().is_empty());
            // Every error renders as `compile_error!` at a span: the form rustc shows the user.
            let rendered = error.to_compile_error().to_string();
            prop_assert!(rendered.contains("compile_error"), "{}", rendered);
        }
    }
    Ok(())
}

fn check_keys(tokens: TokenStream, place: Place) -> Result<(), TestCaseError> {
    let mut errors = Errors::default();
    let _ = parse_tokens(tokens, place, &mut errors);
    if let Err(errors) = errors.finish(()) {
        for error in errors {
            prop_assert!(!error.to_string().is_empty());
            let rendered = error.to_compile_error().to_string();
            prop_assert!(rendered.contains("compile_error"), "{}", rendered);
        }
    }
    Ok(())
}
