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
//! One file per stage, as thiserror's impl crate: `attr.rs` reads each `#[retryable(...)]` into
//! keys with their spans; `valid.rs` checks the keys against where they stand and against each
//! other, into an [`ast::Input`] whose types are named after what they hold (`ast.rs`);
//! `expand.rs` turns that into the impl, and cannot fail. Every mistake of one derive is reported
//! at once; beside the errors goes an impl that never retries, so the functions that use the type
//! report nothing more.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Path};

use crate::diagnostics::Errors;

#[cfg(test)]
pub use attr::{Place, parse_tokens};

/// The whole derive: parse, validate, expand; or, on any error, every error found and an impl
/// that never retries.
pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    let checked = valid::validate(&input, &mut errors);
    match errors.finish(()) {
        Ok(()) => expand::expand(&checked),
        Err(errors) => {
            let errors = errors.into_compile_error();
            let fallback = fallback(&input, &checked.krate);
            quote!(#errors #fallback)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
