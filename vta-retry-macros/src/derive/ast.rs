//! The checked input of `#[derive(Retryable)]`: what `valid.rs` builds from the syn tree once
//! every key has been checked, and all that `expand.rs` reads. Nothing in it can be wrong.

use proc_macro2::Ident;
use syn::{ExprPath, Generics, Member, Path, Type};

/// The type being derived, checked: its name and generics, where the runtime is, and how each
/// of its values is classified.
pub struct Input {
    /// The type's name.
    pub ident: Ident,
    /// The type's generics and where clause, as the user wrote them.
    pub generics: Generics,
    /// Field types of delegating cases that mention a type parameter: each gets a
    /// `Type: Retryable` bound in the impl's where clause.
    pub bounds: Vec<Type>,
    /// The runtime's path: `crate = …`, else the name `Cargo.toml` gives it.
    pub krate: Path,
    /// The struct's classification, or each variant's.
    pub body: Body,
}

/// What the type's values are: a struct, classified as a whole, or an enum, classified variant
/// by variant.
pub enum Body {
    /// A struct: one classification.
    Struct(Box<Classification>),
    /// An enum: its variants in declaration order.
    Enum(Vec<Variant>),
}

/// One variant of an enum, and its classification.
pub struct Variant {
    /// The variant's name.
    pub ident: Ident,
    /// What `is_transient` and `retry_after` say of it.
    pub classification: Classification,
}

/// How one struct or variant is classified: whether it is transient, and where its server hint
/// is.
pub struct Classification {
    /// What `is_transient` says.
    pub transience: Transience,
    /// The field `retry_after` returns, if any (never beside [`Transience::Delegate`], which
    /// takes the hint from the field it delegates to).
    pub hint: Option<HintField>,
}

/// What `is_transient` says for a struct or variant.
pub enum Transience {
    /// Unmarked: `false`.
    Never,
    /// `transient`: `true`.
    Always,
    /// `transient_if = path`: the answer of the `fn(&Self) -> bool` at this path.
    If(ExprPath),
    /// `delegate`: the only field's own `Retryable` answers, for the hint, `in_progress` and
    /// `idempotency_key_reused` too. The field, and its type.
    Delegate(Member, Type),
}

/// The field that holds the server's hint, marked `retry_after`.
pub struct HintField {
    /// The field.
    pub member: Member,
    /// Its type, where a type mismatch is reported.
    pub ty: Type,
    /// `Option<Duration>` rather than `Duration`.
    pub optional: bool,
}

impl Body {
    /// The struct's classification, or each variant's in declaration order.
    pub fn classifications(&self) -> Vec<&Classification> {
        match self {
            Self::Struct(classification) => vec![classification],
            Self::Enum(variants) => variants
                .iter()
                .map(|variant| &variant.classification)
                .collect(),
        }
    }
}

impl Classification {
    /// Whether `retry_after` has something to say for this struct or variant.
    pub const fn has_hint(&self) -> bool {
        self.hint.is_some() || self.transience.delegates()
    }
}

impl Transience {
    /// Whether the field's own `Retryable` answers.
    pub const fn delegates(&self) -> bool {
        matches!(self, Self::Delegate(..))
    }
}
