//! Every function shape `#[vta_retry]` accepts compiles and retries: free functions, methods on
//! `self`, `&self` and `&mut self`, generics, lifetimes, `impl Trait`, `Self`, trait impls,
//! aliases of `Result` and other attributes. (`real_world_shapes.rs` has the shapes that once broke;
//! `with_instrument.rs` the stack with `#[tracing::instrument]`.)
#![allow(dead_code)]

use std::cell::Cell;
use std::fmt::Debug;
use std::io;

use vta_retry_runtime::{Retryable, vta_retry};

/// Fails its first call with a reset connection, then succeeds with the call number.
#[derive(Default)]
struct Flaky {
    calls: Cell<u32>,
}

trait Remote {
    fn call(&self) -> io::Result<u32>;
}

impl Remote for Flaky {
    fn call(&self) -> io::Result<u32> {
        let call = self.calls.get() + 1;
        self.calls.set(call);
        if call == 1 {
            Err(io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(call)
        }
    }
}

/// A doc comment, kept on the expanded function.
#[vta_retry(backoff = "1ms")]
#[must_use = "kept attributes still apply"]
pub(crate) async fn free_function(remote: &Flaky) -> io::Result<u32> {
    remote.call()
}

#[tokio::test(start_paused = true)]
async fn a_free_function_with_a_result_alias() {
    let remote = Flaky::default();
    assert_eq!(free_function(&remote).await.unwrap(), 2);
}

struct Service {
    remote: Flaky,
    seen: Vec<u32>,
}

impl Service {
    fn new() -> Self {
        Self {
            remote: Flaky::default(),
            seen: Vec::new(),
        }
    }

    #[vta_retry(backoff = "1ms")]
    async fn by_ref(&self) -> Result<u32, io::Error> {
        self.remote.call()
    }

    /// `&mut self` is re-borrowed each attempt: the mutation of a failed attempt stays visible.
    #[vta_retry(backoff = "1ms")]
    async fn by_mut(&mut self) -> Result<u32, io::Error> {
        self.seen.push(self.remote.calls.get());
        let value = self.remote.call()?;
        self.seen.push(value);
        Ok(value)
    }

    /// The same without `?`: a body that cannot leave early runs in place, not in an `async`
    /// block, and `&mut self` is still used afresh by each attempt.
    #[vta_retry(backoff = "1ms")]
    async fn by_mut_in_place(&mut self) -> Result<u32, io::Error> {
        self.seen.push(self.remote.calls.get());
        self.remote.call()
    }

    #[vta_retry(backoff = "1ms")]
    async fn by_value(self) -> Result<u32, io::Error> {
        self.remote.call()
    }

    #[vta_retry(backoff = "1ms")]
    async fn returns_self(&self) -> Result<Self, io::Error> {
        self.remote.call().map(|_| Self::new())
    }

    #[vta_retry(backoff = "1ms")]
    async fn returns_impl_trait(&self) -> Result<impl Iterator<Item = u32> + use<>, io::Error> {
        let n = self.remote.call()?;
        Ok(0..n)
    }
}

#[tokio::test(start_paused = true)]
async fn methods_on_every_receiver() {
    assert_eq!(Service::new().by_ref().await.unwrap(), 2);
    let mut service = Service::new();
    assert_eq!(service.by_mut().await.unwrap(), 2);
    assert_eq!(service.seen, [0, 1, 2]);
    let mut service = Service::new();
    assert_eq!(service.by_mut_in_place().await.unwrap(), 2);
    assert_eq!(service.seen, [0, 1]);
    assert_eq!(Service::new().by_value().await.unwrap(), 2);
    let fresh = Service::new().returns_self().await.unwrap();
    assert_eq!(fresh.remote.calls.get(), 0);
    assert_eq!(
        Service::new().returns_impl_trait().await.unwrap().count(),
        2
    );
}

#[vta_retry(attempts = 2, backoff = "1ms")]
async fn generic<'a, R, T>(remote: &'a R, value: &'a T) -> Result<(&'a T, u32), io::Error>
where
    R: Remote + ?Sized,
    T: Debug + ?Sized,
{
    Ok((value, remote.call()?))
}

#[vta_retry(backoff = "1ms")]
async fn impl_trait_argument(remote: &impl Remote) -> io::Result<u32> {
    remote.call()
}

#[vta_retry(backoff = "1ms")]
async fn generic_error<E: Retryable>(remote: &Flaky, wrap: fn(io::Error) -> E) -> Result<u32, E> {
    remote.call().map_err(wrap)
}

#[tokio::test(start_paused = true)]
async fn generics_lifetimes_and_impl_trait() {
    let remote = Flaky::default();
    let dynamic: &dyn Remote = &remote;
    let (value, call) = generic(dynamic, "label").await.unwrap();
    assert_eq!((value, call), ("label", 2));
    assert_eq!(impl_trait_argument(&Flaky::default()).await.unwrap(), 2);
    assert_eq!(generic_error(&Flaky::default(), Box::new).await.unwrap(), 2);
}

trait KeyStore {
    async fn create_key(&self, label: &str) -> Result<String, io::Error>;
}

impl KeyStore for Service {
    #[vta_retry(backoff = "1ms")]
    async fn create_key(&self, label: &str) -> Result<String, io::Error> {
        Ok(format!("{label}-{}", self.remote.call()?))
    }
}

#[tokio::test(start_paused = true)]
async fn an_async_fn_in_a_trait_impl() {
    assert_eq!(Service::new().create_key("k").await.unwrap(), "k-2");
}

#[derive(Debug)]
enum AppError {
    Busy,
    Invalid,
}

impl From<io::Error> for AppError {
    fn from(_: io::Error) -> Self {
        AppError::Busy
    }
}

fn app_error_is_transient(error: &AppError) -> bool {
    matches!(error, AppError::Busy)
}

/// `AppError` is not `Retryable`; `retry_if` classifies it, and `?` converts into it.
#[vta_retry(backoff = "1ms", retry_if = app_error_is_transient)]
async fn classified_by_path(remote: &Flaky, valid: bool) -> Result<u32, AppError> {
    if !valid {
        return Err(AppError::Invalid);
    }
    Ok(remote.call()?)
}

#[tokio::test(start_paused = true)]
async fn retry_if_replaces_the_error_type_classification() {
    let remote = Flaky::default();
    assert_eq!(classified_by_path(&remote, true).await.unwrap(), 2);
    let remote = Flaky::default();
    assert!(matches!(
        classified_by_path(&remote, false).await,
        Err(AppError::Invalid)
    ));
}

/// Stands in for a renamed runtime: the real one, with a `pause` that counts its calls, so the
/// test sees that the expansion called through `crate = …`.
mod renamed_runtime {
    pub mod __private {
        use std::sync::atomic::{AtomicU32, Ordering};
        pub use vta_retry_runtime::__private::*;

        pub static SLEEPS: AtomicU32 = AtomicU32::new(0);

        pub async fn pause<T: Copy>(wait: std::time::Duration, carried: T) -> T {
            SLEEPS.fetch_add(1, Ordering::SeqCst);
            vta_retry_runtime::__private::pause(wait, carried).await
        }
    }
}

#[vta_retry(backoff = "1ms", crate = renamed_runtime)]
async fn through_a_renamed_runtime(remote: &Flaky) -> io::Result<u32> {
    remote.call()
}

#[tokio::test(start_paused = true)]
async fn crate_points_the_expansion_at_another_path() {
    use std::sync::atomic::Ordering;
    assert_eq!(
        through_a_renamed_runtime(&Flaky::default()).await.unwrap(),
        2
    );
    assert_eq!(renamed_runtime::__private::SLEEPS.load(Ordering::SeqCst), 1);
}

/// A stub body compiles without warnings from the expansion (`todo!()` diverges inside the attempt).
#[vta_retry]
async fn not_written_yet(_remote: &Flaky) -> io::Result<u32> {
    todo!()
}

/// The expansion's names cannot clash with the user's: parameters named like its locals, and
/// types named like the ones it uses, in scope around the function. (Items named `__vta_…`
/// remain reserved: a unit struct of that name would be read as a pattern, a compile error.)
mod clashing_names {
    #![allow(non_camel_case_types, non_snake_case, clippy::upper_case_acronyms)]

    use super::{Flaky, Remote};
    use std::io;
    use vta_retry_runtime::vta_retry;

    struct Option;
    struct Some;
    struct Duration;
    struct Policy;
    struct Result;

    #[vta_retry(attempts = 3, backoff = "1ms")]
    pub(super) async fn shadowing(
        remote: &Flaky,
        __vta_attempt: u32,
        __vta_wait: &str,
    ) -> io::Result<(u32, u32, usize)> {
        let _ = (Option, Some, Duration, Policy, Result);
        Ok((remote.call()?, __vta_attempt, __vta_wait.len()))
    }

    #[vta_retry(attempts = 3, backoff = "1ms")]
    pub(super) async fn shadowing_in_place(remote: &Flaky, __vta_attempt: u32) -> io::Result<u32> {
        remote.call().map(|call| call * 100 + __vta_attempt)
    }
}

#[tokio::test(start_paused = true)]
async fn the_expansion_names_cannot_clash_with_the_users() {
    let remote = Flaky::default();
    assert_eq!(
        clashing_names::shadowing(&remote, 7, "wait").await.unwrap(),
        (2, 7, 4)
    );
    let remote = Flaky::default();
    assert_eq!(
        clashing_names::shadowing_in_place(&remote, 7)
            .await
            .unwrap(),
        207
    );
}
