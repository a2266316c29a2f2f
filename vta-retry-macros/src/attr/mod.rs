//! `#[vta_retry]`: the attribute's pipeline, a stage to a file.
//!
//! ```text
//! args.rs       the `key = value` list          → Args
//! function.rs   the annotated function          → RetryFn (the body the expansion retries)
//! validate.rs   Args and RetryFn checked        → Config, or every mistake at its token
//! expand.rs     the retry loop around the body  (cannot fail), with
//!   policy.rs     the policy as a constant, and the call's clock
//!   hooks.rs      the call after each attempt: classifier, hook, timeout conversion
//!   arguments.rs  each attempt starting from the arguments as passed
//!   body.rs       what the body's tokens say: inner attributes, `impl Trait`, whether it can
//!                 run in place
//! ```
//!
//! On any error the user's function is emitted unchanged beside the errors, so one typo costs one
//! error rather than a cascade through every caller.

mod args;
mod arguments;
mod body;
mod expand;
mod function;
mod hooks;
mod policy;
mod validate;

#[cfg(test)]
pub use args::parse_args;

use proc_macro2::TokenStream;
use quote::quote;

/// The whole attribute over `proc_macro2` tokens: parse, validate, expand; or, on any error, the
/// function unchanged plus every error found.
pub fn vta_retry(args: TokenStream, item: TokenStream) -> TokenStream {
    let (args, mut errors) = args::parse_args_partially(args);
    let config = validate::validate_args(args, &mut errors);
    let function = errors.check(syn::parse2::<function::RetryFn>(item.clone()));
    if let Some(function) = &function {
        validate::check_fn(function, &mut errors);
    }
    match errors.finish(function) {
        Ok(Some(function)) => expand::expand(function, &config),
        Ok(None) => item,
        Err(errors) => {
            let errors = errors.into_compile_error();
            quote!(#item #errors)
        }
    }
}
