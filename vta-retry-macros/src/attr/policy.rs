//! The policy as the expansion writes it: a constant promoted to a `static`, passed by reference
//! to every engine call (nothing copies it, and the compiler sees every field), and the clock
//! type the call needs for it.
//!
//! ```text
//! // Input:   #[vta_retry(policy = VTA_CALLS, attempts = 5, timeout = "1s", budget = BUDGET)]
//! // Output:  static __VTA_BUDGET: &RetryBudget = &BUDGET;            // items, once
//! //          const __VTA_SETTINGS: Policy = { let base: Policy = VTA_CALLS; base }
//! //              .with_timeout(1s);
//! //          const __VTA_POLICY: &Policy = &__VTA_SETTINGS
//! //              .with_attempts(5).with_named_budget(__VTA_BUDGET, "BUDGET");
//! //          __VTA_POLICY                                           // at each use
//! //          // or, where an item cannot name a path (`Self::POLICY`), at each use:
//! //          &const { … }
//! //          Call<<ClockIf<{ clock_needed(__VTA_SETTINGS.needs_start_time(), false) }>
//! //               as ClockFor>::Clock>                              // NoClock or Started
//! ```

use std::time::Duration;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ExprPath, Signature};

use super::args::JitterKind;
use super::validate::{AttemptCount, Config};
use crate::tokens::{generated, respan};

/// The policy, ready to write.
pub(super) struct PolicyTokens {
    /// Items that go once, before the loop: the checked `attempts = CONST`, the budget's
    /// `static`, the policy.
    pub items: TokenStream,
    /// The policy's value as an expression, a `&'static Policy`: the item `__VTA_POLICY`, or
    /// `&const { … }` where an item cannot name it.
    pub value: TokenStream,
    /// The policy's bounds alone (its timeout and deadline), as a `Policy` item (or a `&'static Policy`) a const
    /// argument can read: for the questions asked at compile time, whether it has a timeout and
    /// whether it needs a clock. (A budget's `static` a const argument cannot read, and an
    /// `attempts = CONST` that fails its check would be reported again.)
    pub settings: TokenStream,
    /// The type of the call's clock: [`NoClock`] where nothing needs one.
    ///
    /// [`NoClock`]: https://docs.rs/vta-retry-runtime
    pub clock: TokenStream,
}

/// The policy for `config` on the function `sig`: the base policy (`policy = …`, or
/// `Policy::DEFAULT`) with each key the attribute sets.
pub(super) fn policy_tokens(
    sig: &Signature,
    config: &Config,
    private: &TokenStream,
) -> PolicyTokens {
    let mut overrides = Vec::new();
    let mut items = TokenStream::new();
    // Whether every path the policy names can be named from an item, and from a const
    // argument: not where it names `Self` or a generic parameter.
    let mut concrete = config
        .policy
        .as_ref()
        .is_none_or(|path| names_no_generics(path, sig));
    match &config.attempts {
        Some(AttemptCount::Literal(attempts)) => overrides.push(quote!(.with_attempts(#attempts))),
        // A `const` path is checked where it is written: an integer, at least 1. Where an item
        // can name it, the check is an item, which `cargo check` evaluates; an inline `const`
        // (needed where the path names `Self` or a generic parameter) is evaluated only when the
        // function is built.
        Some(AttemptCount::Const(path)) => {
            let checking = respan(private.clone(), path.span());
            let checked = quote_spanned! {path.span()=>
                {
                    #checking::attempts_must_be_an_integer(&#path);
                    #checking::attempts_from_const(#path as i128)
                }
            };
            if names_no_generics(path, sig) {
                let item = generated("__VTA_ATTEMPTS");
                items.extend(quote!(const #item: u32 = #checked;));
                overrides.push(quote!(.with_attempts(#item)));
            } else {
                concrete = false;
                overrides.push(quote!(.with_attempts(#checked)));
            }
        }
        None => {}
    }
    if let Some((first, max)) = config.backoff {
        let (first, max) = (duration_tokens(first), duration_tokens(max));
        overrides.push(quote!(.with_backoff(#private::Backoff::exponential(#first, #max))));
    }
    if let Some(jitter) = config.jitter {
        let jitter = match jitter {
            JitterKind::None => quote!(None),
            JitterKind::Full => quote!(Full),
            JitterKind::Equal => quote!(Equal),
        };
        overrides.push(quote!(.with_jitter(#private::Jitter::#jitter)));
    }
    let (base, settings) = base_and_settings(sig, config, private, &mut items);
    // By reference to the `static`, through a `static` of the expansion's own: a `const` (a new
    // budget at every use, which would never throttle) is an error that suggests a `static`, and
    // a path to anything else is a type mismatch at the path. Where an item cannot name it
    // (`Self::BUDGET`), the reference is taken in place.
    let mut budget_in_place = false;
    if let Some(budget) = &config.budget {
        let span = budget.span();
        // The budget's metrics are labelled with the path as written: `budget = VTA_BUDGET`
        // reports `budget="VTA_BUDGET"`.
        let name = quote!(#budget).to_string().replace(' ', "");
        if names_no_generics(budget, sig) {
            let item = generated("__VTA_BUDGET");
            let budget_type = respan(quote!(#private::RetryBudget), span);
            items.extend(quote_spanned! {span=>
                static #item: &#budget_type = &#budget;
            });
            overrides.push(quote!(.with_named_budget(#item, #name)));
        } else {
            budget_in_place = true;
            let reference = quote_spanned!(span=> &#budget);
            overrides.push(quote!(.with_named_budget(#reference, #name)));
        }
    }
    // One item where an item can name everything the policy does, so that rustc checks and
    // evaluates it once, not at each of its uses; otherwise an inline `const` at each use. Not
    // with `attempts = CONST`, whose failed check would be reported again at the policy.
    let attempts_const = matches!(config.attempts, Some(AttemptCount::Const(_)));
    let value = if concrete && !budget_in_place && !attempts_const {
        let item = generated("__VTA_POLICY");
        let policy_type = quote!(#private::Policy);
        items.extend(quote!(const #item: &#policy_type = &#base #(#overrides)*;));
        quote!(#item)
    } else {
        quote!((&const { #base #(#overrides)* }))
    };
    let clock = clock_type(config, private, &settings, concrete);
    PolicyTokens {
        items,
        value,
        settings,
        clock,
    }
}

/// The policy before the keys that only the runtime reads: the named policy (or the default)
/// with the attribute's timeout, deadline and longest hint, and the same as the `settings` a
/// const argument reads. Where the named policy is written in an item, both are that item.
fn base_and_settings(
    sig: &Signature,
    config: &Config,
    private: &TokenStream,
    items: &mut TokenStream,
) -> (TokenStream, TokenStream) {
    // A named policy goes through a typed `let`, so that a path to anything but a `Policy` is a
    // type mismatch at the path.
    let base = if let Some(path) = &config.policy {
        let policy_type = respan(quote!(#private::Policy), path.span());
        quote_spanned! {path.span()=> { let base: #policy_type = #path; base } }
    } else {
        quote!(#private::Policy::DEFAULT)
    };
    let mut bounds = Vec::new();
    for (setter, value) in [
        ("with_timeout", config.timeout),
        ("with_max_elapsed", config.max_elapsed),
        ("with_max_hint", config.max_hint),
    ] {
        if let Some(value) = value {
            let setter = Ident::new(setter, Span::call_site());
            let value = duration_tokens(value);
            bounds.push(quote!(.#setter(#value)));
        }
    }
    // The named policy's path is written once, in an item where an item can name it, so that a
    // path that does not resolve is reported once, and not again inside a const argument.
    match &config.policy {
        Some(path) if names_no_generics(path, sig) => {
            let item = generated("__VTA_SETTINGS");
            let policy_type = quote!(#private::Policy);
            items.extend(quote!(const #item: #policy_type = #base #(#bounds)*;));
            (quote!(#item), quote!(#item))
        }
        _ => {
            let settings = quote!((&const { #base #(#bounds)* }));
            (quote!(#base #(#bounds)*), settings)
        }
    }
}

/// The call's clock type: chosen at compile time from what the policy bounds (a deadline or a
/// timeout), whether a hook reports the elapsed time, and whether the runtime has `tracing`:
/// from the keys where no `policy = PATH` is named, else from the named policy's value.
/// Where the policy cannot be read in a const argument (it names `Self` or a generic parameter),
/// the clock is kept.
fn clock_type(
    config: &Config,
    private: &TokenStream,
    settings: &TokenStream,
    concrete: bool,
) -> TokenStream {
    if !concrete {
        return quote!(#private::Started);
    }
    let reports = config.on_retry.is_some();
    // Without a named policy the keys say it all (the runtime's `clock_needed` rule, read off
    // them), and a plain type is cheaper for rustc to check than a const argument and a
    // projection.
    if config.policy.is_none() {
        return if reports || config.timeout.is_some() || config.max_elapsed.is_some() {
            quote!(#private::Started)
        } else {
            quote!(#private::ClockUnlessTraced)
        };
    }
    quote! {
        <#private::ClockIf<{ #private::clock_needed(#settings.needs_start_time(), #reports) }> as #private::ClockFor>::Clock
    }
}

/// Whether `path` can be named from an item inside the function: it does not start with `Self`,
/// a qualified `<T as Trait>`, or one of the function's generic parameters.
pub(super) fn names_no_generics(path: &ExprPath, sig: &Signature) -> bool {
    let Some(first) = path.path.segments.first() else {
        return false;
    };
    let generic = sig.generics.params.iter().any(|param| match param {
        syn::GenericParam::Type(ty) => ty.ident == first.ident,
        syn::GenericParam::Const(constant) => constant.ident == first.ident,
        syn::GenericParam::Lifetime(_) => false,
    });
    path.qself.is_none() && first.ident != "Self" && first.ident != "self" && !generic
}

fn duration_tokens(duration: Duration) -> TokenStream {
    let secs = duration.as_secs();
    let nanos = duration.subsec_nanos();
    quote!(::core::time::Duration::new(#secs, #nanos))
}
