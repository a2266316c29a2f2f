//! Transparency: functions as people write them, each of which compiles without `#[vta_retry]`,
//! compile with it and retry. Every shape here broke once: a return type that needs a coercion at
//! an early exit, `#[async_trait]`, `#[tracing::instrument]` on `&mut self`, a `const` attempt
//! count, a closure classifier, inner attributes.
// The shapes are written as people write them, not as clippy would have them.
#![allow(
    dead_code,
    clippy::manual_async_fn,
    clippy::needless_question_mark,
    clippy::type_complexity
)]

use std::cell::Cell;
use std::error::Error;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use vta_retry_runtime::vta_retry;

/// Fails its first call with a reset connection, then succeeds with the call number.
#[derive(Default)]
struct Flaky {
    calls: AtomicU32,
}

impl Flaky {
    fn call(&self) -> io::Result<u32> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call == 1 {
            Err(io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(call)
        }
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

// ---- Return types whose value needs a coercion at an exit the body can leave early by ----

trait Shape: Send {
    fn sides(&self) -> u32;
}

struct Square;

impl Shape for Square {
    fn sides(&self) -> u32 {
        4
    }
}

/// `Box<Square>` coerces to `Box<dyn Shape>` only if the body is checked against the declared
/// type; with `?` in the body, the attempt runs in an `async` block whose type was inferred.
#[vta_retry(backoff = "1ms")]
async fn boxed_trait_object(remote: &Flaky) -> io::Result<Box<dyn Shape>> {
    remote.call()?;
    Ok(Box::new(Square))
}

/// `&[u8; 3]` coerces to `&'static [u8]`.
#[vta_retry(backoff = "1ms")]
async fn static_slice(remote: &Flaky) -> io::Result<&'static [u8]> {
    remote.call()?;
    Ok(b"abc")
}

/// An early `return` of the coerced value, and a tail that needs it too.
#[vta_retry(backoff = "1ms")]
async fn early_return_coerces(remote: &Flaky, square: bool) -> io::Result<Box<dyn Shape>> {
    if square {
        return remote.call().map(|_| Box::new(Square) as Box<dyn Shape>);
    }
    remote.call()?;
    Ok(Box::new(Square))
}

/// `?` converts `io::Error` into `Box<dyn Error>`: only possible once the error type is known.
#[vta_retry(backoff = "1ms", retry_if = |error| error.is::<io::Error>())]
async fn boxed_error_from_question_mark(
    remote: &Flaky,
) -> Result<u32, Box<dyn Error + Send + Sync>> {
    let call = remote.call()?;
    Ok(call)
}

/// `impl Trait` in the return type, with `?`: the error type is still fixed for `?`.
#[vta_retry(backoff = "1ms")]
async fn impl_trait_with_question_mark(
    remote: &Flaky,
) -> io::Result<impl Iterator<Item = u32> + use<>> {
    let n = remote.call()?;
    Ok((0..n).map(|i| i * 10))
}

/// `impl Trait` nested inside the `Ok` type.
#[vta_retry(backoff = "1ms")]
async fn nested_impl_trait(remote: &Flaky) -> io::Result<(u32, Box<dyn Fn(u32) -> u32 + Send>)> {
    let n = remote.call()?;
    Ok((n, Box::new(move |x| x + n)))
}

#[tokio::test(start_paused = true)]
async fn coercions_reach_every_exit() {
    let remote = Flaky::default();
    assert_eq!(boxed_trait_object(&remote).await.unwrap().sides(), 4);
    assert_eq!(remote.calls(), 2);

    let remote = Flaky::default();
    assert_eq!(static_slice(&remote).await.unwrap(), b"abc");
    assert_eq!(remote.calls(), 2);

    for square in [true, false] {
        let remote = Flaky::default();
        assert_eq!(
            early_return_coerces(&remote, square).await.unwrap().sides(),
            4
        );
        assert_eq!(remote.calls(), 2);
    }

    let remote = Flaky::default();
    assert_eq!(boxed_error_from_question_mark(&remote).await.unwrap(), 2);

    let remote = Flaky::default();
    let values: Vec<u32> = impl_trait_with_question_mark(&remote)
        .await
        .unwrap()
        .collect();
    assert_eq!(values, [0, 10]);

    let remote = Flaky::default();
    let (n, add) = nested_impl_trait(&remote).await.unwrap();
    assert_eq!((n, add(1)), (2, 3));
}

// ---- #[async_trait] ----

#[async_trait]
trait KeyStore: Send + Sync {
    async fn create_key(&self, label: &str) -> io::Result<String>;

    async fn rotate(&mut self) -> io::Result<u32>;

    /// A default method, retried where it is written.
    #[vta_retry(backoff = "1ms")]
    async fn create_pair(&self, label: &str) -> io::Result<(String, String)> {
        let first = self.create_key(label).await?;
        let second = self.create_key(label).await?;
        Ok((first, second))
    }

    /// A default method on `&mut self`.
    #[vta_retry(backoff = "1ms")]
    async fn rotate_twice(&mut self) -> io::Result<u32> {
        let first = self.rotate().await?;
        Ok(first + self.rotate().await?)
    }
}

struct Store {
    remote: Flaky,
    rotations: Vec<u32>,
}

impl Store {
    fn new() -> Self {
        Self {
            remote: Flaky::default(),
            rotations: Vec::new(),
        }
    }
}

#[async_trait]
impl KeyStore for Store {
    #[vta_retry(backoff = "1ms")]
    async fn create_key(&self, label: &str) -> io::Result<String> {
        let n = self.remote.call()?;
        Ok(format!("{label}-{n}"))
    }

    /// `&mut self` is re-borrowed by every attempt: the failed attempt's push stays.
    #[vta_retry(backoff = "1ms")]
    async fn rotate(&mut self) -> io::Result<u32> {
        self.rotations.push(self.remote.calls());
        self.remote.call()
    }
}

/// `?Send` futures, and a method taking an owned argument by value.
#[async_trait(?Send)]
trait LocalJob {
    async fn run(&self, input: Vec<u8>) -> io::Result<usize>;
}

struct Local {
    remote: Flaky,
    seen: Cell<u32>,
}

#[async_trait(?Send)]
impl LocalJob for Local {
    #[vta_retry(backoff = "1ms")]
    async fn run(&self, input: Vec<u8>) -> io::Result<usize> {
        self.seen.set(self.seen.get() + 1);
        self.remote.call()?;
        Ok(input.len())
    }
}

#[tokio::test(start_paused = true)]
async fn async_trait_methods_are_retried() {
    let store = Store::new();
    assert_eq!(store.create_key("k").await.unwrap(), "k-2");
    assert_eq!(store.remote.calls(), 2);

    let mut store = Store::new();
    assert_eq!(store.rotate().await.unwrap(), 2);
    assert_eq!(store.rotations, [0, 1]);

    let store = Store::new();
    let (a, b) = store.create_pair("p").await.unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("p-2", "p-3"));

    let mut store = Store::new();
    assert_eq!(store.rotate_twice().await.unwrap(), 2 + 3);

    let local = Local {
        remote: Flaky::default(),
        seen: Cell::new(0),
    };
    assert_eq!(local.run(vec![1, 2, 3]).await.unwrap(), 3);
    assert_eq!(local.seen.get(), 2);
}

/// The boxed future stays `Send`: a `dyn KeyStore` is driven on another thread of a
/// multi-thread runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_trait_objects_run_on_a_multi_thread_runtime() {
    let store: Arc<dyn KeyStore> = Arc::new(Store::new());
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.create_key(&format!("t{i}")).await })
        })
        .collect();
    let mut made = Vec::new();
    for task in tasks {
        made.push(task.await.unwrap().unwrap());
    }
    assert_eq!(made.len(), 4);

    let mut boxed: Box<dyn KeyStore> = Box::new(Store::new());
    let rotated = tokio::spawn(async move { boxed.rotate_twice().await.map(|n| (n, boxed)) });
    let (n, _) = rotated.await.unwrap().unwrap();
    assert_eq!(n, 5);
}

// ---- A `&mut` to a value that is `Send` but not `Sync` ----

/// A connection as people hold one: `Send`, but not `Sync`, for its boxed transport.
trait Transport {
    fn send(&self, frame: &str) -> io::Result<usize>;
}

/// Fails its first send, then succeeds with the frame's length.
struct FlakyTransport {
    sends: Cell<u32>,
}

impl Transport for FlakyTransport {
    fn send(&self, frame: &str) -> io::Result<usize> {
        self.sends.set(self.sends.get() + 1);
        if self.sends.get() == 1 {
            Err(io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(frame.len())
        }
    }
}

struct Session {
    transport: Box<dyn Transport + Send>,
    sent: u32,
}

impl Session {
    fn new() -> Self {
        Self {
            transport: Box::new(FlakyTransport {
                sends: Cell::new(0),
            }),
            sent: 0,
        }
    }

    /// Reads a field by shared reference, across an await: the attempt's future holds the
    /// `&mut Session`, not a `&` to the field, which would ask the transport to be `Sync`.
    #[vta_retry(attempts = 3, backoff = "0s")]
    async fn hello(&mut self) -> io::Result<usize> {
        tokio::task::yield_now().await;
        self.sent += 1;
        self.transport.send("hello")
    }
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn goodbye(session: &mut Session) -> io::Result<usize> {
    tokio::task::yield_now().await;
    session.transport.send("bye")
}

#[async_trait]
trait Beacon {
    async fn beacon(&mut self) -> io::Result<usize>;
}

#[async_trait]
impl Beacon for Session {
    #[vta_retry(attempts = 3, backoff = "0s")]
    async fn beacon(&mut self) -> io::Result<usize> {
        tokio::task::yield_now().await;
        self.transport.send("beacon")
    }
}

/// As without the attribute, the futures are `Send` (here: spawned) when the referent is `Send`,
/// `Sync` or not.
#[tokio::test]
async fn a_mut_reference_to_a_value_that_is_not_sync_keeps_the_future_send() {
    let mut session = Session::new();
    let (sent, session) = tokio::spawn(async move {
        let sent = session.hello().await;
        (sent, session)
    })
    .await
    .unwrap();
    assert_eq!(sent.unwrap(), 5);
    assert_eq!(session.sent, 2, "the body ran twice");

    let mut session = Session::new();
    let sent = tokio::spawn(async move { goodbye(&mut session).await });
    assert_eq!(sent.await.unwrap().unwrap(), 3);

    let mut session = Session::new();
    let sent = tokio::spawn(async move { session.beacon().await });
    assert_eq!(sent.await.unwrap().unwrap(), 6);
}

// ---- Attribute values as people write them ----

const MAX_ATTEMPTS: u32 = 4;
const MAX_ATTEMPTS_USIZE: usize = 2;

mod policy {
    pub const ATTEMPTS: u64 = 5;
}

fn always_failing(remote: &Flaky) -> io::Result<u32> {
    remote.calls.fetch_add(1, Ordering::SeqCst);
    Err(io::ErrorKind::TimedOut.into())
}

#[vta_retry(attempts = MAX_ATTEMPTS, backoff = "1ms")]
async fn attempts_from_a_const(remote: &Flaky) -> io::Result<u32> {
    always_failing(remote)
}

#[vta_retry(attempts = MAX_ATTEMPTS_USIZE, backoff = "1ms")]
async fn attempts_from_a_usize_const(remote: &Flaky) -> io::Result<u32> {
    always_failing(remote)
}

#[vta_retry(attempts = policy::ATTEMPTS, backoff = "1ms")]
async fn attempts_from_a_path(remote: &Flaky) -> io::Result<u32> {
    always_failing(remote)
}

#[vta_retry(attempts = 2u32, backoff = "1ms")]
async fn attempts_with_a_suffix(remote: &Flaky) -> io::Result<u32> {
    always_failing(remote)
}

#[tokio::test(start_paused = true)]
async fn attempts_take_consts_and_suffixed_literals() {
    let remote = Flaky::default();
    assert!(attempts_from_a_const(&remote).await.is_err());
    assert_eq!(remote.calls(), 4);
    let remote = Flaky::default();
    assert!(attempts_from_a_usize_const(&remote).await.is_err());
    assert_eq!(remote.calls(), 2);
    let remote = Flaky::default();
    assert!(attempts_from_a_path(&remote).await.is_err());
    assert_eq!(remote.calls(), 5);
    let remote = Flaky::default();
    assert!(attempts_with_a_suffix(&remote).await.is_err());
    assert_eq!(remote.calls(), 2);
}

#[derive(Debug)]
enum ApiError {
    Status(u16),
    Io(io::Error),
}

impl From<io::Error> for ApiError {
    fn from(error: io::Error) -> Self {
        ApiError::Io(error)
    }
}

/// A closure classifier, with a comma inside it, and a key after it.
#[vta_retry(retry_if = |e| matches!(e, ApiError::Status(500..=599) | ApiError::Io(_)), backoff = "1ms")]
async fn closure_classifier(remote: &Flaky, status: u16) -> Result<u32, ApiError> {
    if remote.calls() == 0 {
        remote.call()?;
    }
    if status != 200 && remote.calls() < 2 {
        remote.calls.fetch_add(1, Ordering::SeqCst);
        return Err(ApiError::Status(status));
    }
    Ok(remote.calls())
}

#[tokio::test(start_paused = true)]
async fn retry_if_takes_a_closure() {
    let remote = Flaky::default();
    assert_eq!(closure_classifier(&remote, 200).await.unwrap(), 1);
    let remote = Flaky::default();
    assert!(matches!(
        closure_classifier(&remote, 404).await,
        Err(ApiError::Status(404))
    ));
    assert_eq!(remote.calls(), 2);
}

// ---- Attributes beside `#[vta_retry]`, and inner attributes ----

#[vta_retry(backoff = "1ms")]
#[must_use = "the key is the point"]
#[deprecated(note = "still compiles, still retries")]
#[inline]
#[allow(clippy::needless_question_mark)]
#[cfg(not(any()))]
async fn many_neighbours(remote: &Flaky) -> io::Result<u32> {
    Ok(remote.call()?)
}

#[vta_retry(backoff = "1ms")]
async fn inner_attributes(remote: &Flaky) -> io::Result<u32> {
    #![allow(unused_variables)]
    let unused = 1;
    Ok(remote.call()?)
}

#[vta_retry(backoff = "1ms")]
#[cfg(any())]
async fn compiled_out(remote: &Flaky) -> io::Result<u32> {
    this_does_not_exist()
}

#[tokio::test(start_paused = true)]
#[allow(deprecated)]
async fn neighbouring_and_inner_attributes_are_kept() {
    let remote = Flaky::default();
    assert_eq!(many_neighbours(&remote).await.unwrap(), 2);
    let remote = Flaky::default();
    assert_eq!(inner_attributes(&remote).await.unwrap(), 2);
}

// ---- A `fn` that returns an `async` block: `async fn` desugared by hand (rustc's
// `async_fn_in_trait` lint suggests exactly this) ----

trait Loader {
    fn load(&self) -> impl Future<Output = io::Result<u32>> + Send;
}

struct Loads {
    remote: Flaky,
}

impl Loader for Loads {
    #[vta_retry(backoff = "1ms")]
    fn load(&self) -> impl Future<Output = io::Result<u32>> + Send {
        async move { Ok(self.remote.call()? * 10) }
    }
}

#[vta_retry(backoff = "1ms")]
fn boxed_by_hand(
    remote: &Flaky,
) -> std::pin::Pin<Box<dyn Future<Output = io::Result<u32>> + Send + '_>> {
    Box::pin(async move { remote.call() })
}

/// futures' alias, and its `.boxed()`: the alias names `Output` by position, not `Output = `.
#[vta_retry(backoff = "1ms")]
fn futures_box_future(remote: &Flaky) -> futures::future::BoxFuture<'_, io::Result<u32>> {
    Box::pin(async move { remote.call() })
}

#[vta_retry(backoff = "1ms")]
fn futures_boxed(remote: &Flaky) -> futures::future::BoxFuture<'_, io::Result<u32>> {
    use futures::FutureExt;
    async move { Ok(remote.call()? + 100) }.boxed()
}

#[tokio::test(start_paused = true)]
async fn functions_returning_async_blocks_are_retried() {
    let loads = Loads {
        remote: Flaky::default(),
    };
    assert_eq!(loads.load().await.unwrap(), 20);
    let remote = Flaky::default();
    assert_eq!(boxed_by_hand(&remote).await.unwrap(), 2);
    let remote = Flaky::default();
    assert_eq!(futures_box_future(&remote).await.unwrap(), 2);
    let remote = Flaky::default();
    assert_eq!(futures_boxed(&remote).await.unwrap(), 102);
}
