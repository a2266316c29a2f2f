//! The function form's attempts under one VTA idempotency key.
//!
//! vta-sdk scopes its key only around a future that `VtaClient::idempotent` polls, and that
//! future's type cannot be named, so the function form cannot put its whole loop inside it as the
//! attribute does. It puts only what must dispatch under the key there: a [`Runner`] that makes
//! and polls each attempt's future when the loop asks. The loop keeps its decisions, its waits and
//! its options outside, and the two talk through a [`Slot`]:
//!
//! ```text
//! loop:   next_attempt ─ Start ─▶ runner: op(), poll the attempt's future (under the key)
//!         poll_attempt ◀ Finished(outcome) ─ runner
//!         cut          ─ Cancel ─▶ runner: drop the attempt's future (timed out)
//! ```
//!
//! The runner's future is built once per call, by a function fixed when the call is made: the
//! call's type names it through a type parameter, so nothing is boxed but each attempt's future,
//! and the call is `Send` whenever its parts are.

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use crate::vta_key::{self, KeyRole};

/// Where the loop and the runner meet.
pub enum Slot<T, E> {
    /// Nothing asked.
    Idle,
    /// The loop asks for a new attempt.
    Start,
    /// The runner is polling an attempt.
    Running,
    /// The attempt's outcome, for the loop.
    Finished(Result<T, E>),
    /// The loop cut the attempt: its future is to be dropped.
    Cancel,
}

/// The slot, shared by the loop and the runner.
pub type Shared<T, E> = Arc<Mutex<Slot<T, E>>>;

/// What makes an attempt's future: `op`, an `FnMut() -> Fut`, with the future named as its output
/// rather than by a type parameter of its own. A bound tying two parameters together
/// (`F: FnMut() -> Fut`) is one rustc cannot prove when it checks that a spawned task holding the
/// call is `Send` and `op` borrows what it captured ("one type is more general than the other").
pub trait MakeAttempt<T, E> {
    /// The attempt's future.
    type Attempt: Future<Output = Result<T, E>>;
    /// Makes the next attempt's future.
    fn make(&mut self) -> Self::Attempt;
}

impl<F, Fut, T, E> MakeAttempt<T, E> for F
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Attempt = Fut;

    #[inline]
    fn make(&mut self) -> Fut {
        self()
    }
}

/// Makes and polls the attempts' futures, inside the future that holds the key. Never finishes:
/// it is dropped with the call.
struct Runner<M: MakeAttempt<T, E>, T, E> {
    op: M,
    attempt: Option<Pin<Box<M::Attempt>>>,
    slot: Shared<T, E>,
}

impl<M: MakeAttempt<T, E>, T, E> Future for Runner<M, T, E> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every field is `Unpin` (the attempt is boxed), so the runner is too.
        let this = Pin::into_inner(self);
        /// What the loop asked, read under the lock and acted on after it.
        enum Asked {
            Start,
            Cancel,
            Poll,
            Nothing,
        }
        let asked = {
            let mut slot = lock(&this.slot);
            match *slot {
                Slot::Start => {
                    *slot = Slot::Running;
                    Asked::Start
                }
                Slot::Cancel => {
                    *slot = Slot::Idle;
                    Asked::Cancel
                }
                Slot::Running => Asked::Poll,
                Slot::Idle | Slot::Finished(_) => Asked::Nothing,
            }
        };
        match asked {
            Asked::Start => {
                // The attempt before is gone before the next one is made.
                this.attempt = None;
                this.attempt = Some(Box::pin(this.op.make()));
            }
            Asked::Cancel => {
                this.attempt = None;
                return Poll::Pending;
            }
            Asked::Poll => {}
            Asked::Nothing => return Poll::Pending,
        }
        if let Some(attempt) = this.attempt.as_mut()
            && let Poll::Ready(outcome) = attempt.as_mut().poll(cx)
        {
            this.attempt = None;
            *lock(&this.slot) = Slot::Finished(outcome);
        }
        Poll::Pending
    }
}

impl<M: MakeAttempt<T, E>, T, E> Unpin for Runner<M, T, E> {}

/// The loop's side: the slot, once the call holds a key, and how to build the runner's future.
pub struct KeyedAttempts<F, T, E, K> {
    /// Builds the runner's future from `op` and the slot.
    start: fn(F, Shared<T, E>) -> K,
    slot: Option<Shared<T, E>>,
}

impl<F, T, E, K> KeyedAttempts<F, T, E, K> {
    /// Attempts that will run under the key inside `start(op, slot)`, if the call holds one.
    pub fn new(start: fn(F, Shared<T, E>) -> K) -> Self {
        Self { start, slot: None }
    }

    /// Starts the call under a key: the key in scope if there is one (its holder owns retry, and
    /// the call makes one attempt, as it would without the key), else a new one held by `holder`,
    /// to which `op` moves.
    pub fn start(&mut self, op: &mut Option<F>, mut holder: Pin<&mut Option<K>>) -> KeyRole {
        if vta_key::key_in_scope() {
            return KeyRole::UnderAnotherHolder;
        }
        let Some(op) = op.take() else {
            return KeyRole::Unkeyed;
        };
        let slot = Arc::new(Mutex::new(Slot::Idle));
        holder.set(Some((self.start)(op, Arc::clone(&slot))));
        self.slot = Some(slot);
        KeyRole::Holder
    }

    /// Asks for a new attempt.
    pub fn next_attempt(&self) {
        if let Some(slot) = &self.slot {
            *lock(slot) = Slot::Start;
        }
    }

    /// Polls the attempt, inside the holder's future.
    pub fn poll_attempt(&self, holder: Pin<&mut K>, cx: &mut Context<'_>) -> Poll<Result<T, E>>
    where
        K: Future<Output = ()>,
    {
        let Some(slot) = &self.slot else {
            return Poll::Pending;
        };
        // The runner never finishes, and neither does the holder's future around it.
        let _ = holder.poll(cx);
        let mut slot = lock(slot);
        match mem::replace(&mut *slot, Slot::Idle) {
            Slot::Finished(outcome) => Poll::Ready(outcome),
            other => {
                *slot = other;
                Poll::Pending
            }
        }
    }

    /// After an attempt: if it was cut by its timeout rather than finished, its future is dropped
    /// now, not when the next attempt starts.
    pub fn cut(&self, holder: Pin<&mut K>, cx: &mut Context<'_>)
    where
        K: Future<Output = ()>,
    {
        let Some(slot) = &self.slot else {
            return;
        };
        {
            let mut slot = lock(slot);
            if !matches!(*slot, Slot::Running | Slot::Start) {
                return;
            }
            *slot = Slot::Cancel;
        }
        let _ = holder.poll(cx);
    }
}

/// The slot, whatever a panic elsewhere left it as: nothing that can panic runs under the lock.
fn lock<T, E>(slot: &Shared<T, E>) -> std::sync::MutexGuard<'_, Slot<T, E>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The runner of `op`'s attempts, under a new VTA key for the whole call. (Without vta-sdk no
/// call holds a key, and this is never polled.)
pub fn start_keyed<M, T, E>(op: M, slot: Shared<T, E>) -> impl Future<Output = ()> + use<M, T, E>
where
    M: MakeAttempt<T, E>,
{
    let runner = Runner {
        op,
        attempt: None,
        slot,
    };
    #[cfg(feature = "vta-sdk")]
    return vta_key::under_new_key(runner);
    #[cfg(not(feature = "vta-sdk"))]
    {
        drop(runner);
        std::future::pending()
    }
}

/// Whether `E` is vta-sdk's `VtaError`, whose calls hold a key unless told otherwise.
#[cfg(feature = "vta-sdk")]
pub fn is_vta_error<E>() -> bool {
    typeid::of::<E>() == typeid::of::<vta_sdk::error::VtaError>()
}

/// Without vta-sdk, no error type is `VtaError`.
#[cfg(not(feature = "vta-sdk"))]
#[allow(clippy::extra_unused_type_parameters)] // the same signature as with vta-sdk
pub fn is_vta_error<E>() -> bool {
    false
}
