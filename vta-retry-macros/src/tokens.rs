//! Token helpers both macros use: names the expansion makes up, and spans moved onto the user's
//! tokens so that errors point there.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};

/// A name of the expansion's own, resolved at the macro's definition site mixed with the call
/// site (`Span::mixed_site()`), so the user's code can neither see nor shadow it.
pub fn generated(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The same tokens, each at `span`: for generated paths that an error may point at.
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                tree = TokenTree::Group(respanned);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// Tokens as the user would write them: `Option<u64>`, `Policy::DEFAULT.with_attempts(5)`, not
/// `Option < u64 >` and `Policy :: DEFAULT . with_attempts (5)`.
pub fn as_written(tokens: &TokenStream) -> String {
    let mut text = tokens.to_string();
    for (spaced, tight) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        (" . ", "."),
        (" (", "("),
        ("& ", "&"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

/// A name of the expansion's own, as [`generated`], located at `at` so that an error about the
/// value it holds points there.
pub fn generated_at(name: &str, at: Span) -> Ident {
    Ident::new(name, Span::mixed_site().located_at(at))
}

/// Rust's integer types, by name: an `attempts` literal's suffixes, and the numbers a derive's
/// hint field or an argument may be.
pub const INTEGER_TYPES: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// Rust's float types, by name.
pub const FLOAT_TYPES: [&str; 2] = ["f32", "f64"];
