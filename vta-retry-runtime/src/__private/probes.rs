//! Autoref probes: the expansion asks the compiler, where the types are known, what a type can
//! do, and picks the answer by method resolution (`(&&&Probe).method()` finds the impl for the
//! most references first). Each probe is a type, a trait per answer, and a macro the expansion
//! calls.
//!
//! | probe | asks | answers |
//! |---|---|---|
//! | [`DescribeProbe`] | how to write the error in a log line | `Display`, else `Debug`, else the type's name |
//! | [`HintProbe`] | whether `retry_if` can read the error's hint | by its `Retryable`, else none |
//! | [`TimeoutConversion`] | whether a named policy's timeout can become the error | `E::from`, else a build error if it cuts |
//! | [`SignatureProbe`] | whether a `retry_if`/`on_retry` function takes the error by value | an error that says so, else the function as written |
//! | [`KeyProbe`] | whether an error not written `VtaError` is vta-sdk's `VtaError` all the same | a build error that says so, else nothing |

use std::fmt;
use std::marker::PhantomData;

use crate::engine::{ByDebug, ByDisplay, ByTypeName, HintByType, NoHint, ToError};
use crate::retryable::Retryable;
use crate::{RetryEvent, TimedOut};

// ---- How an error is written in a log line ----

/// The probe: the outcome's type, with no bound on it, so that a function that does not return
/// a `Result` is reported once, by `after_attempt`, not again here.
pub struct DescribeProbe<R>(PhantomData<fn(&R)>);

impl<R> DescribeProbe<R> {
    /// The probe for `outcome`'s type.
    #[inline]
    pub const fn of(_: &R) -> Self {
        Self(PhantomData)
    }
}

/// The probe's answer for a `Result` whose error is `Display`.
pub trait DescribeByDisplay {
    /// The marker.
    fn describer(&self) -> ByDisplay;
}

impl<T, E: fmt::Display> DescribeByDisplay for &&DescribeProbe<Result<T, E>> {
    #[inline]
    fn describer(&self) -> ByDisplay {
        ByDisplay
    }
}

/// The probe's answer for a `Result` whose error is `Debug`.
pub trait DescribeByDebug {
    /// The marker.
    fn describer(&self) -> ByDebug;
}

impl<T, E: fmt::Debug> DescribeByDebug for &DescribeProbe<Result<T, E>> {
    #[inline]
    fn describer(&self) -> ByDebug {
        ByDebug
    }
}

/// The probe's answer otherwise.
pub trait DescribeByTypeName {
    /// The marker.
    fn describer(&self) -> ByTypeName;
}

impl<R> DescribeByTypeName for DescribeProbe<R> {
    #[inline]
    fn describer(&self) -> ByTypeName {
        ByTypeName
    }
}

// ---- Whether `retry_if` reads the error's hint ----

/// The probe: the outcome's type, with no bound on it.
pub struct HintProbe<R>(PhantomData<fn(&R)>);

impl<R> HintProbe<R> {
    /// The probe for `outcome`'s type.
    #[inline]
    pub const fn of(_: &R) -> Self {
        Self(PhantomData)
    }
}

/// The probe's answer for a `Result` whose error is [`Retryable`].
pub trait HintsByType {
    /// The reader.
    fn hints(&self) -> HintByType;
}

impl<T, E: Retryable> HintsByType for &HintProbe<Result<T, E>> {
    #[inline]
    fn hints(&self) -> HintByType {
        HintByType
    }
}

/// The probe's answer otherwise.
pub trait NoHints {
    /// The reader.
    fn hints(&self) -> NoHint;
}

impl<R> NoHints for HintProbe<R> {
    #[inline]
    fn hints(&self) -> NoHint {
        NoHint
    }
}

// ---- A named policy's timeout ----

/// The converter for a `policy = PATH` whose timeout the macro cannot see: found by autoref
/// specialisation at the expansion, `E::from` when `E: From<TimedOut>`, otherwise none, and then
/// a build error if the policy does set a timeout (`CUTS`).
pub struct TimeoutConversion<E, const CUTS: bool>(PhantomData<fn() -> E>);

impl<E, const CUTS: bool> TimeoutConversion<E, CUTS> {
    /// The probe.
    pub const PROBE: Self = Self(PhantomData);
}

/// The probe's answer when `E: From<TimedOut>`.
pub trait ConvertsTimedOut<E> {
    /// `E::from`.
    fn converter(&self) -> Option<ToError<E>>;
}

impl<E: From<TimedOut>, const CUTS: bool> ConvertsTimedOut<E> for &TimeoutConversion<E, CUTS> {
    #[inline]
    fn converter(&self) -> Option<ToError<E>> {
        Some(E::from)
    }
}

/// The probe's answer otherwise.
pub trait CannotConvertTimedOut<E> {
    /// None; a build error when the policy sets a timeout.
    fn converter(&self) -> Option<ToError<E>>;
}

impl<E, const CUTS: bool> CannotConvertTimedOut<E> for TimeoutConversion<E, CUTS> {
    #[inline]
    fn converter(&self) -> Option<ToError<E>> {
        const {
            assert!(
                !CUTS,
                "this policy sets a `timeout`, and the function's error type has no `From<vta_retry_runtime::TimedOut>`"
            );
        }
        None
    }
}

// ---- `retry_if` and `on_retry` given a function that takes the error by value ----

/// The probe for a `retry_if = path` or `on_retry = path`: the path's type `P`, beside the
/// function's error type `E`, so that a function taking the error by value gets an error that
/// says so, and any other function passes on as written (and is coerced to its pointer type,
/// whose mismatch rustc reports with both types).
pub struct SignatureProbe<E, P>(PhantomData<fn(&E, P)>);

impl<E, P> SignatureProbe<E, P> {
    /// The probe for `path`'s type.
    #[inline]
    pub const fn of(_: &P) -> Self {
        Self(PhantomData)
    }
}

/// A function as written, for the coercion that checks it.
pub struct AsWritten<P>(P);

/// A `retry_if` function that takes the error by value. Generic over the function's type, so
/// that a path that does not resolve (a typo) is reported once, as rustc reports it, and not
/// again as this mistake: an unresolved path's type is an error, and so is any bound on it.
pub struct RetryIfTakesErrorByValue<P>(PhantomData<P>);

/// An `on_retry` function that takes the error by value. Generic for the same reason.
pub struct OnRetryTakesErrorByValue<P>(PhantomData<P>);

/// The probe's answer for a `retry_if` function of the error by value.
pub trait RetryIfByValue<P> {
    /// The mistake, named.
    fn retry_if(&self, function: P) -> RetryIfTakesErrorByValue<P>;
}

impl<E, P: Fn(E) -> bool> RetryIfByValue<P> for &SignatureProbe<E, P> {
    #[inline]
    fn retry_if(&self, _: P) -> RetryIfTakesErrorByValue<P> {
        RetryIfTakesErrorByValue(PhantomData)
    }
}

/// The probe's answer for an `on_retry` function of the error by value.
pub trait OnRetryByValue<P> {
    /// The mistake, named.
    fn on_retry(&self, function: P) -> OnRetryTakesErrorByValue<P>;
}

impl<E, P: for<'a> Fn(E, &RetryEvent<'a>)> OnRetryByValue<P> for &SignatureProbe<E, P> {
    #[inline]
    fn on_retry(&self, _: P) -> OnRetryTakesErrorByValue<P> {
        OnRetryTakesErrorByValue(PhantomData)
    }
}

/// The probe's answer otherwise: the function as written.
pub trait FunctionAsWritten<P> {
    /// The function, for `retry_if`.
    fn retry_if(&self, function: P) -> AsWritten<P>;
    /// The function, for `on_retry`.
    fn on_retry(&self, function: P) -> AsWritten<P>;
}

impl<E, P> FunctionAsWritten<P> for SignatureProbe<E, P> {
    #[inline]
    fn retry_if(&self, function: P) -> AsWritten<P> {
        AsWritten(function)
    }

    #[inline]
    fn on_retry(&self, function: P) -> AsWritten<P> {
        AsWritten(function)
    }
}

/// A `retry_if` function that takes the error as it is given: by reference.
#[diagnostic::on_unimplemented(
    message = "`retry_if` is given the error by reference: its function must take `&{E}`, not `{E}`",
    label = "this function takes the error by value",
    note = "write it as `fn is_transient(error: &{E}) -> bool`"
)]
pub trait RetryIfFunction<E> {
    /// The function.
    type Function;
    /// The function.
    fn function(self) -> Self::Function;
}

impl<E, P> RetryIfFunction<E> for AsWritten<P> {
    type Function = P;
    #[inline]
    fn function(self) -> P {
        self.0
    }
}

/// An `on_retry` function that takes the error as it is given: by reference.
#[diagnostic::on_unimplemented(
    message = "`on_retry` is given the error by reference: its function must take `&{E}`, not `{E}`",
    label = "this function takes the error by value",
    note = "write it as `fn log_retry(error: &{E}, retry: &RetryEvent)`"
)]
pub trait OnRetryFunction<E> {
    /// The function.
    type Function;
    /// The function.
    fn function(self) -> Self::Function;
}

impl<E, P> OnRetryFunction<E> for AsWritten<P> {
    type Function = P;
    #[inline]
    fn function(self) -> P {
        self.0
    }
}

/// The `retry_if` function the probe passed on, for `E`.
#[inline]
pub fn retry_if_function<E, A: RetryIfFunction<E>>(answer: A) -> A::Function {
    answer.function()
}

/// The `on_retry` function the probe passed on, for `E`.
#[inline]
pub fn on_retry_function<E, A: OnRetryFunction<E>>(answer: A) -> A::Function {
    answer.function()
}

// ---- The macros the expansion calls ----

/// How an outcome's error is written in a log line, chosen where the type is known.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_describer {
    ($outcome:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{
            DescribeByDebug as _, DescribeByDisplay as _, DescribeByTypeName as _,
        };
        (&&&$crate::__private::DescribeProbe::of($outcome)).describer()
    }};
}
/// Without `tracing` there is no log line: no probe for the compiler to resolve in every
/// annotated function.
#[cfg(not(feature = "tracing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_describer {
    ($outcome:expr) => {
        $crate::__private::ByTypeName
    };
}
pub use crate::__vta_describer as describer;

/// The function's metric keys, `static`s built and hashed at compile time, so that reporting an
/// attempt allocates and hashes nothing.
#[cfg(feature = "metrics")]
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_series {
    ($function:expr) => {{
        static LABELS: $crate::__private::SeriesLabels =
            $crate::__private::SeriesLabels::new($function);
        static KEYS: $crate::__private::SeriesKeys = $crate::__private::SeriesKeys::new(&LABELS);
        &KEYS
    }};
}

/// Without `metrics` there are no keys: no `static`s for the compiler to check in every
/// annotated function.
#[cfg(not(feature = "metrics"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_series {
    ($function:expr) => {
        &$crate::__private::SeriesKeys
    };
}
pub use crate::__vta_series as series;

/// How a `retry_if` call reads the server's hint from an outcome's error, chosen where the type
/// is known.
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_hints {
    ($outcome:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{HintsByType as _, NoHints as _};
        (&&$crate::__private::HintProbe::of($outcome)).hints()
    }};
}
pub use crate::__vta_hints as hints;

/// The timed-out conversion for the error type `$error` under a policy whose timeout only the
/// compiler knows: `Some(E::from)` if there is one, else `None`, and a build error if `$cuts`.
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_timeout_converter {
    ($error:ty, $cuts:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{CannotConvertTimedOut as _, ConvertsTimedOut as _};
        (&&$crate::__private::TimeoutConversion::<$error, { $cuts }>::PROBE).converter()
    }};
}
pub use crate::__vta_timeout_converter as timeout_converter;

// ---- Whether an error not written `VtaError` is `VtaError` all the same ----

/// The probe: the outcome's type, as written, of a function whose return type does not name
/// `VtaError`. The attribute holds a VTA key for a function whose return type names it; an alias
/// (`type VtaResult<T> = Result<T, VtaError>`) or a renamed import (`VtaError as SdkError`)
/// hides it from the macro, and the calls would hold no key without a word.
pub struct KeyProbe<R>(PhantomData<fn() -> R>);

impl<R> KeyProbe<R> {
    /// The probe.
    pub const PROBE: Self = Self(PhantomData);
}

/// The answer for vta-sdk's `VtaError`, reached by another name.
#[cfg(feature = "vta-sdk")]
pub trait KeyHiddenByName {
    /// The marker, which fails [`KeyFollowsTheName`].
    fn key_by_name(&self) -> VtaErrorByAnotherName;
}

#[cfg(feature = "vta-sdk")]
impl<T> KeyHiddenByName for &KeyProbe<Result<T, vta_sdk::error::VtaError>> {
    #[inline]
    fn key_by_name(&self) -> VtaErrorByAnotherName {
        VtaErrorByAnotherName
    }
}

/// The answer otherwise: not `VtaError`, so no key is lost.
pub trait KeyNotInvolved {
    /// The marker.
    fn key_by_name(&self) -> NotVtaError;
}

impl<R> KeyNotInvolved for KeyProbe<R> {
    #[inline]
    fn key_by_name(&self) -> NotVtaError {
        NotVtaError
    }
}

/// [`KeyProbe`]'s answer for an error that is not `VtaError`.
pub struct NotVtaError;

/// [`KeyProbe`]'s answer for `VtaError` under another name.
pub struct VtaErrorByAnotherName;

/// What the probe's answer must be.
#[diagnostic::on_unimplemented(
    message = "this function's error is vta-sdk's `VtaError` under another name, so `#[vta_retry]` cannot tell that its attempts should hold one VTA idempotency key",
    label = "`VtaError`, by a name the attribute cannot see through",
    note = "the attribute holds one key across the attempts of a function whose return type names `VtaError` (`Result<T, VtaError>`); an alias or a renamed import hides it",
    note = "say which you want: `vta_key = true` holds one key across the attempts (a create whose reply is lost is then recognised, not repeated); `vta_key = false` holds none"
)]
pub trait KeyFollowsTheName {}

impl KeyFollowsTheName for NotVtaError {}

/// Compiles only for [`NotVtaError`].
#[inline]
pub fn key_follows_the_name<A: KeyFollowsTheName>(_: A) {}

/// Fails the build where a return type that does not name `VtaError` is `VtaError` all the same.
///
/// ```compile_fail,E0277
/// use vta_sdk::error::VtaError;
/// type VtaResult<T> = Result<T, VtaError>;
///
/// #[vta_retry_runtime::vta_retry]
/// async fn create() -> VtaResult<u32> {
///     Ok(1)
/// }
/// ```
///
/// ```compile_fail,E0277
/// use vta_sdk::error::VtaError as SdkError;
///
/// #[vta_retry_runtime::vta_retry]
/// async fn create() -> Result<u32, SdkError> {
///     Ok(1)
/// }
/// ```
///
/// ```
/// use vta_sdk::error::VtaError;
/// type VtaResult<T> = Result<T, VtaError>;
///
/// #[vta_retry_runtime::vta_retry(vta_key = true)]
/// async fn create() -> VtaResult<u32> {
///     Ok(1)
/// }
///
/// #[vta_retry_runtime::vta_retry(vta_key = false)]
/// async fn read() -> VtaResult<u32> {
///     Ok(1)
/// }
///
/// #[vta_retry_runtime::vta_retry]
/// async fn other<E: vta_retry_runtime::Retryable>() -> Result<u32, E> {
///     Ok(1)
/// }
/// ```
#[cfg(feature = "vta-sdk")]
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_key_by_name {
    ($outcome:ty) => {{
        #[allow(unused_imports)]
        use $crate::__private::{KeyHiddenByName as _, KeyNotInvolved as _};
        $crate::__private::key_follows_the_name(
            (&&$crate::__private::KeyProbe::<$outcome>::PROBE).key_by_name(),
        );
    }};
}

/// Without vta-sdk no call holds a key, and none can be lost: no probe for the compiler to
/// resolve in every annotated function.
#[cfg(not(feature = "vta-sdk"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __vta_key_by_name {
    ($outcome:ty) => {};
}
pub use crate::__vta_key_by_name as key_by_name;
