//! The call context: which attempt of which call is running, readable from anywhere on the task
//! while it runs, and the idempotency key that stays the same across a call's attempts.
//!
//! The context lives in a thread-local slot that the attempt sets around each poll of its future
//! and restores after, as tokio's `task_local!` does, without tying the runtime to a tokio API:
//! whatever the body awaits, however deep, sees it while the attempt is being polled, and nothing
//! else on the thread ever does. A call's identity is a serial number, unique in the process,
//! drawn from a thread-local block of a global counter; the key is derived from it by a keyed hash
//! only when it is read.

use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU64;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The attempt running on this task, if any: readable from anywhere the attempt's code reaches,
/// however deep.
///
/// `None` outside an attempt of a `#[vta_retry]` function or of [`Policy::retry`]. A task spawned
/// from inside an attempt starts without one: the context follows the task that polls the
/// attempt, not the code that created a future.
///
/// ```
/// use vta_retry_runtime::{context, vta_retry};
///
/// #[vta_retry]
/// async fn create_key(label: &str) -> std::io::Result<String> {
///     let call = context().expect("inside an attempt");
///     // The same key on every attempt of this call: send it, and the server can recognise a
///     // repeat whose reply was lost.
///     Ok(format!("{label}: attempt {} with key {}", call.attempt(), call.idempotency_key()))
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # assert!(context().is_none());
/// # assert!(create_key("k").await.unwrap().starts_with("k: attempt 1 with key "));
/// # }
/// ```
///
/// [`Policy::retry`]: crate::Policy::retry
#[inline]
pub fn context() -> Option<CallContext> {
    CURRENT.with(Cell::get)
}

/// The attempt running, as [`context`] reads it. `Copy`: read it once and keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallContext {
    /// The call's serial number, unique in the process: its key is derived from it.
    serial: NonZeroU64,
    attempt: u32,
    max_attempts: u32,
}

impl CallContext {
    /// The attempt running, counting from 1: to log, or to send as request metadata, as gRPC's
    /// `grpc-previous-rpc-attempts` does.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The call's attempts in all, the first included.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// One key per call: the same on every attempt of it (and in every `#[vta_retry]` function it
    /// calls), different for every call. Send it with a create, and a server that keeps keys can
    /// answer a repeat whose first reply was lost with the first result, instead of creating
    /// twice.
    ///
    /// Made when it is read, from the call's serial number, so a call that never reads it pays
    /// nothing for it beyond the serial number, a thread-local increment at the call's start.
    pub fn idempotency_key(&self) -> IdempotencyKey {
        IdempotencyKey::for_call(self.serial)
    }
}

/// An idempotency key: 128 bits, shown as a lowercase hyphenated UUID v4
/// (`4b3e0c1a-…-…`), the form the IETF `Idempotency-Key` draft and most APIs take.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(u128);

impl IdempotencyKey {
    /// The key of the call with `serial`: two SipHash outputs under a key drawn at random once
    /// per process, so keys cannot be guessed from one another, with UUID v4's version and
    /// variant bits set.
    fn for_call(serial: NonZeroU64) -> Self {
        static SECRET: OnceLock<RandomState> = OnceLock::new();
        let secret = SECRET.get_or_init(RandomState::new);
        let half = |lane: u8| secret.hash_one((serial, lane));
        let random = (u128::from(half(0)) << 64) | u128::from(half(1));
        let uuid = uuid::Builder::from_random_bytes(random.to_be_bytes()).into_uuid();
        Self(uuid.as_u128())
    }

    /// The key's 128 bits.
    pub const fn as_u128(&self) -> u128 {
        self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&uuid::Uuid::from_u128(self.0).hyphenated(), f)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({self})")
    }
}

thread_local! {
    /// The attempt being polled on this thread.
    static CURRENT: Cell<Option<CallContext>> = const { Cell::new(None) };
    /// The last serial number drawn on this thread: its high bits are the thread's own prefix,
    /// taken from a global counter the first time, its low bits count calls.
    static LAST_SERIAL: Cell<u64> = const { Cell::new(0) };
}

/// The bits of a serial number that count one thread's calls: a trillion calls before the thread
/// takes a new prefix.
const CALL_BITS: u32 = 40;

/// A serial number unique in the process: a thread-local increment, with an atomic shared by the
/// threads only once per thread (and per trillion calls).
#[inline]
fn next_serial() -> NonZeroU64 {
    const CALLS: u64 = (1 << CALL_BITS) - 1;
    LAST_SERIAL.with(|last| {
        let previous = last.get();
        // A thread's first call (no prefix yet), or its block of calls used up.
        let next = if previous & CALLS == 0 || previous & CALLS == CALLS {
            new_prefix()
        } else {
            previous + 1
        };
        last.set(next);
        NonZeroU64::new(next).unwrap_or(NonZeroU64::MIN)
    })
}

#[cold]
fn new_prefix() -> u64 {
    static NEXT_PREFIX: AtomicU64 = AtomicU64::new(1);
    (NEXT_PREFIX.fetch_add(1, Ordering::Relaxed) << CALL_BITS) | 1
}

/// Where a call stands with respect to the context, in one word: [`Ownership::UNKNOWN`] until
/// its first poll, [`Ownership::NESTED`] when polled inside another call's attempt, else the
/// serial number of a call that owns retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ownership(u64);

impl Ownership {
    /// Not yet decided: the call has not been polled.
    pub(crate) const UNKNOWN: Self = Self(0);
    /// Polled inside an attempt of another call, which owns retry: it makes one attempt, under
    /// the outer call's context. (No serial number comes near `u64::MAX`: a thread takes a new
    /// prefix after 2^40 calls, and a process makes fewer than 2^23 prefixes.)
    pub(crate) const NESTED: Self = Self(u64::MAX);
}

/// Publishes a call's context on this thread until dropped, then restores what was there: around
/// one poll of an attempt, a panic included.
pub(crate) struct Published(Option<CallContext>);

impl Published {
    /// Publishes the context of the call whose ownership is `ownership`, deciding it at the
    /// call's first poll: a call polled while another's context is published is nested, and
    /// publishes nothing; any other draws its serial number.
    #[inline]
    pub(crate) fn enter(
        ownership: &mut Ownership,
        attempt: u32,
        max_attempts: u32,
    ) -> Option<Self> {
        let serial = match *ownership {
            Ownership::NESTED => return None,
            Ownership::UNKNOWN => {
                if context().is_some() {
                    *ownership = Ownership::NESTED;
                    return None;
                }
                let serial = next_serial();
                *ownership = Ownership(serial.get());
                serial
            }
            Ownership(serial) => NonZeroU64::new(serial).unwrap_or(NonZeroU64::MIN),
        };
        let context = CallContext {
            serial,
            attempt,
            max_attempts,
        };
        Some(Self(CURRENT.with(|current| current.replace(Some(context)))))
    }
}

impl Drop for Published {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_unique_across_threads() {
        let mut all: Vec<u64> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| (0..20_000).map(|_| next_serial().get()).collect::<Vec<_>>())
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect()
        });
        let drawn = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), drawn);
    }

    #[test]
    fn a_key_is_a_stable_uuid_v4() {
        let serial = next_serial();
        let key = IdempotencyKey::for_call(serial);
        assert_eq!(key, IdempotencyKey::for_call(serial));
        assert_ne!(key, IdempotencyKey::for_call(next_serial()));
        let text = key.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text, text.to_lowercase());
        let parsed = uuid::Uuid::parse_str(&text).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn a_call_polled_under_another_is_nested_and_publishes_nothing() {
        assert_eq!(context(), None);
        let mut outer = Ownership::UNKNOWN;
        let published = Published::enter(&mut outer, 2, 3);
        assert!(published.is_some());
        assert!(outer != Ownership::UNKNOWN && outer != Ownership::NESTED);
        assert_eq!(context().map(|c| c.attempt()), Some(2));
        let key = context().map(|c| c.idempotency_key());
        {
            let mut inner = Ownership::UNKNOWN;
            assert!(Published::enter(&mut inner, 1, 5).is_none());
            assert_eq!(inner, Ownership::NESTED);
            assert_eq!(
                context().map(|c| c.max_attempts()),
                Some(3),
                "still the outer call's"
            );
        }
        drop(published);
        assert_eq!(context(), None);
        // The owner keeps its serial number, so its key, for its next attempt.
        let _published = Published::enter(&mut outer, 3, 3);
        assert_eq!(context().map(|c| c.idempotency_key()), key);
    }
}
