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
    let word = CURRENT.with(Cell::get);
    let (attempt, max_attempts) = unpack(word)?;
    // The call's serial number is drawn by the first read of its context, marked in the
    // published word, and carried back into the call when its attempt is next suspended.
    let serial = if word & SERIAL_PUBLISHED == 0 {
        let serial = next_serial();
        SERIAL.with(|published| published.set(serial.get()));
        CURRENT.with(|current| current.set(word | SERIAL_PUBLISHED));
        serial
    } else {
        NonZeroU64::new(SERIAL.with(Cell::get)).unwrap_or(NonZeroU64::MIN)
    };
    Some(CallContext {
        serial,
        attempt,
        max_attempts,
        vta_key: crate::vta_key::key_bits_in_scope(),
    })
}

/// The attempt running, as [`context`] reads it. `Copy`: read it once and keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallContext {
    /// The call's serial number, unique in the process: its key is derived from it.
    serial: NonZeroU64,
    attempt: u32,
    max_attempts: u32,
    /// The vta-sdk idempotency key the attempt dispatches under, if one is in scope: that is
    /// the call's key then.
    vta_key: Option<u128>,
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
    /// Inside a call that dispatches under a vta-sdk idempotency key (a call over `VtaError`, or
    /// with `vta_key = true`, or one inside `VtaClient::idempotent`), it is that key: the UUID the
    /// VTA deduplicates on, so that logs show it. Otherwise it is made when it is read, from the
    /// call's serial number, which is itself drawn (a thread-local increment) the first time the
    /// call's context is read: a call that never reads its context pays nothing for either.
    pub fn idempotency_key(&self) -> IdempotencyKey {
        match self.vta_key {
            Some(key) => IdempotencyKey(key),
            None => IdempotencyKey::for_call(self.serial),
        }
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
        Self::for_call_in(serial, std::process::id())
    }

    /// The key of the call with `serial` in the process `pid`. A child made by `fork` inherits
    /// its parent's secret and serial numbers; the process id, hashed in, keeps their keys apart.
    fn for_call_in(serial: NonZeroU64, pid: u32) -> Self {
        static SECRET: OnceLock<RandomState> = OnceLock::new();
        let secret = SECRET.get_or_init(RandomState::new);
        let half = |lane: u8| secret.hash_one((pid, serial, lane));
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

// Two one-word slots rather than one of two words: each is read and written whole, which the
// processor forwards from a store to the next load at once (a two-word value written in parts
// and read whole stalls, about a nanosecond a call). A call that never reads its context touches
// only the first.
thread_local! {
    /// The attempt being polled on this thread, packed by [`pack`], with [`SERIAL_PUBLISHED`]
    /// set while `SERIAL` holds its call's serial number; 0 when no attempt is being polled.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    /// The serial number of the call whose attempt is being polled, when `CURRENT` says so.
    static SERIAL: Cell<u64> = const { Cell::new(0) };
    /// The serial numbers this thread may still draw: the next, and the end of its block.
    static SERIALS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// The bit of the published word that says `SERIAL` holds the call's serial number.
const SERIAL_PUBLISHED: u64 = 1 << 63;

/// The attempts in all, as the published word holds them: 31 bits, more read as the most.
const MAX_ATTEMPTS_SHOWN: u32 = (1 << 31) - 1;

/// The attempt (from 1, so never 0) and the attempts in all, as one word.
#[inline]
const fn pack(attempt: u32, max_attempts: u32) -> u64 {
    let max_attempts = if max_attempts > MAX_ATTEMPTS_SHOWN {
        MAX_ATTEMPTS_SHOWN
    } else {
        max_attempts
    };
    (max_attempts as u64) << 32 | attempt as u64
}

/// The attempt and the attempts in all, if an attempt is being polled.
#[inline]
const fn unpack(word: u64) -> Option<(u32, u32)> {
    if word == 0 {
        None
    } else {
        Some((word as u32, (word >> 32) as u32 & MAX_ATTEMPTS_SHOWN))
    }
}

/// Serial numbers a thread takes from the process's counter at a time: one shared atomic add per
/// block, and 2^64 / 2^16 = 2^48 blocks before the counter could wrap, however many threads come
/// and go.
const BLOCK: u64 = 1 << 16;

/// The first serial number: 0 and 1 are [`Ownership::UNDECIDED`] and [`Ownership::OWNER`].
const FIRST_SERIAL: u64 = 2;

/// A serial number unique in the process: a thread-local increment, with an atomic shared by the
/// threads once per block.
#[inline]
fn next_serial() -> NonZeroU64 {
    SERIALS.with(|serials| {
        let (next, end) = serials.get();
        let (serial, end) = if next < end {
            (next, end)
        } else {
            let start = take_block(&NEXT_BLOCK);
            (start, start + BLOCK)
        };
        serials.set((serial + 1, end));
        NonZeroU64::new(serial).unwrap_or(NonZeroU64::MIN)
    })
}

/// The counter blocks are taken from.
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(FIRST_SERIAL);

/// The start of the next block of `counter`. Should the counter ever reach the serial numbers
/// [`Ownership::NESTED`] stands near (after 2^48 blocks), it starts over past the reserved ones
/// rather than wrap onto them.
#[cold]
fn take_block(counter: &AtomicU64) -> u64 {
    let start = counter.fetch_add(BLOCK, Ordering::Relaxed);
    if !(FIRST_SERIAL..u64::MAX - BLOCK).contains(&start) {
        counter.store(FIRST_SERIAL + BLOCK, Ordering::Relaxed);
        return FIRST_SERIAL;
    }
    start
}

/// Where a call stands with respect to the context, in one word: [`Ownership::NESTED`] when the
/// poll that started it ran inside another call's attempt, [`Ownership::OWNER`] for a call that
/// owns retry and whose context nobody has read yet, else the serial number of a call that owns
/// retry. [`Ownership::UNDECIDED`] until its first attempt withdraws its context, and for a call
/// that owns retry until that attempt suspends or fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ownership(u64);

impl Ownership {
    /// Not decided yet: the call's first attempt, which has not suspended or failed, and was not
    /// found nested.
    pub(crate) const UNDECIDED: Self = Self(0);
    /// Owns retry; no serial number drawn yet. (Serial numbers start at 2.)
    pub(crate) const OWNER: Self = Self(1);
    /// Polled inside an attempt of another call, which owns retry: it makes one attempt, under
    /// the outer call's context. (No serial number is `u64::MAX`: see [`take_block`].)
    pub(crate) const NESTED: Self = Self(u64::MAX);

    /// The ownership of a call whose first attempt suspends or fails, or has ended: a call not
    /// found nested by then owns retry.
    #[inline]
    pub(crate) const fn decided(self) -> Self {
        if self.0 == Self::UNDECIDED.0 {
            Self::OWNER
        } else {
            self
        }
    }

    /// The serial number to publish: 0 while none is drawn.
    const fn serial(self) -> u64 {
        if self.0 <= Self::OWNER.0 || self.0 == Self::NESTED.0 {
            0
        } else {
            self.0
        }
    }
}

/// A call's context, published on this thread by [`Published::enter`] until [`Published::leave`]
/// restores what was there before, or until dropped (by a panic), which does too: around one poll
/// of an attempt.
///
/// The hot path is the first attempt of a call with nothing published around it, in the poll
/// that starts it: a load, a comparison and a store of one thread-local word to enter, and the
/// same to leave, nothing else. That the call owns retry is written only once its first attempt
/// suspends or fails ([`Ownership::decided`]), so that a call that succeeds at once never writes
/// it; a serial number, the only thing that costs more, is drawn only if the context is read. It
/// holds no reference to the call, so that the call's state can stay in registers around it.
#[must_use = "the context stays published until `leave`"]
pub(crate) struct Published {
    /// The word published before, restored on leaving: 0 but for a call polled inside another's
    /// attempt (nested, or started outside one).
    previous: u64,
    /// The word this call left published, if it entered by the hot path; [`ENTERED_OTHERWISE`]
    /// otherwise, which sends its leave to [`Published::leave_otherwise`].
    published: u64,
    /// The serial number `SERIAL` held for `previous`, when it held one; [`NESTED_CALL`] for a
    /// nested call, which published nothing.
    previous_serial: u64,
}

/// [`Published::previous_serial`] of a nested call. No serial number is `u64::MAX`.
const NESTED_CALL: u64 = u64::MAX;

/// [`Published::published`] of a call that entered by [`Published::enter_otherwise`]: a word no
/// attempt ever publishes, attempt 0 of 1.
const ENTERED_OTHERWISE: u64 = pack(0, 1);

impl Published {
    /// Publishes the context of attempt `attempt` of the call whose ownership is `ownership`,
    /// for an attempt run in place, which is entered once. A call whose first attempt starts
    /// inside another call's attempt is nested: it publishes nothing, and runs under the outer
    /// call's context.
    #[inline]
    pub(crate) fn enter(ownership: Ownership, attempt: u32, max_attempts: u32) -> Self {
        let previous = CURRENT.with(Cell::get);
        // The hot path, one comparison: the call's first attempt (so attempt 1, which makes the
        // word a constant), with nothing published around it.
        if ownership.0 | previous != 0 {
            return Self::enter_otherwise(ownership, pack(attempt, max_attempts), previous);
        }
        debug_assert_eq!(attempt, 1);
        Self::publish(pack(1, max_attempts))
    }

    /// As [`Published::enter`], for each poll of an attempt's future: an attempt resumed, or a
    /// later one, of a call that owns retry takes the hot path too, publishing its own word.
    #[inline]
    pub(crate) fn enter_poll(ownership: Ownership, attempt: u32, max_attempts: u32) -> Self {
        let previous = CURRENT.with(Cell::get);
        match ownership.0 | previous {
            0 => {
                debug_assert_eq!(attempt, 1);
                Self::publish(pack(1, max_attempts))
            }
            // A published word is never 1: it holds the attempts in all above bit 32.
            1 => Self::publish(pack(attempt, max_attempts)),
            _ => Self::enter_otherwise(ownership, pack(attempt, max_attempts), previous),
        }
    }

    /// Publishes `word` with nothing published around it, and no serial number.
    #[inline]
    fn publish(word: u64) -> Self {
        CURRENT.with(|current| current.set(word));
        Self {
            previous: 0,
            published: word,
            previous_serial: 0,
        }
    }

    /// [`Published::enter`] for a call polled inside another call's attempt (nested, if this
    /// is the poll that starts it), a call with a serial number, or any attempt after the first.
    #[cold]
    #[inline(never)]
    fn enter_otherwise(ownership: Ownership, mut word: u64, previous: u64) -> Self {
        let nested =
            ownership == Ownership::NESTED || (ownership == Ownership::UNDECIDED && previous != 0);
        if nested {
            return Self {
                previous,
                published: ENTERED_OTHERWISE,
                previous_serial: NESTED_CALL,
            };
        }
        let previous_serial = if previous & SERIAL_PUBLISHED != 0 {
            SERIAL.with(Cell::get)
        } else {
            0
        };
        let serial = ownership.serial();
        if serial != 0 {
            SERIAL.with(|published| published.set(serial));
            word |= SERIAL_PUBLISHED;
        }
        CURRENT.with(|current| current.set(word));
        Self {
            previous,
            published: ENTERED_OTHERWISE,
            previous_serial,
        }
    }

    /// Restores what was published before, and gives the call's ownership from now on: nested if
    /// it entered as a nested call, with a serial number if a read of the context drew one
    /// meanwhile. A call that owns retry stays [`Ownership::UNDECIDED`] until its first attempt
    /// suspends or fails ([`Ownership::decided`]), so that the hot path writes nothing.
    #[inline]
    pub(crate) fn leave(self, ownership: Ownership) -> Ownership {
        let Self {
            previous,
            published,
            previous_serial,
        } = self;
        std::mem::forget(self);
        let word = CURRENT.with(Cell::get);
        if word != published {
            return Self::leave_otherwise(previous, previous_serial, word, ownership);
        }
        // Only a call that entered by the hot path finds its own word, and nothing was published
        // before it.
        CURRENT.with(|current| current.set(0));
        ownership
    }

    /// [`Published::leave`] when the call entered by [`Published::enter_otherwise`], or when its
    /// code (or a nested call's) drew a serial number: the call's ownership from now on.
    #[cold]
    #[inline(never)]
    fn leave_otherwise(
        previous: u64,
        previous_serial: u64,
        word: u64,
        ownership: Ownership,
    ) -> Ownership {
        if previous_serial == NESTED_CALL {
            // What the nested call's code left is the outer call's, a serial number it drew
            // for it included.
            CURRENT.with(|current| current.set(word));
            return Ownership::NESTED;
        }
        CURRENT.with(|current| current.set(previous));
        let ownership = ownership.decided();
        let ownership = if word & SERIAL_PUBLISHED != 0 && ownership == Ownership::OWNER {
            Ownership(SERIAL.with(Cell::get))
        } else {
            ownership
        };
        if previous & SERIAL_PUBLISHED != 0 {
            SERIAL.with(|published| published.set(previous_serial));
        }
        ownership
    }
}

impl Drop for Published {
    /// Only when the attempt panicked: its context is withdrawn all the same. A nested call
    /// published nothing, and leaves the outer call's context as its code left it.
    fn drop(&mut self) {
        if self.previous_serial == NESTED_CALL {
            return;
        }
        CURRENT.with(|current| current.set(self.previous));
        if self.previous & SERIAL_PUBLISHED != 0 {
            SERIAL.with(|published| published.set(self.previous_serial));
        }
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
    fn serials_stay_unique_and_clear_of_the_markers_however_many_threads_come_and_go() {
        // A thread takes one block, whatever it draws: ten thousand short-lived threads.
        let mut all: Vec<u64> = (0..10_000)
            .map(|_| std::thread::spawn(|| next_serial().get()).join().unwrap())
            .collect();
        assert!(all.iter().all(|s| *s >= FIRST_SERIAL && *s != u64::MAX));
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 10_000);
    }

    #[test]
    fn the_block_counter_never_hands_out_the_markers() {
        let counter = AtomicU64::new(u64::MAX - BLOCK - 3);
        let starts: Vec<u64> = (0..4).map(|_| take_block(&counter)).collect();
        assert_eq!(
            starts[1], FIRST_SERIAL,
            "starts over rather than wrap: {starts:?}"
        );
        assert_eq!(starts[2], FIRST_SERIAL + BLOCK);
        for start in starts {
            assert!(start >= FIRST_SERIAL && start + BLOCK < u64::MAX, "{start}");
        }
    }

    #[test]
    fn a_forked_child_makes_other_keys_than_its_parent() {
        // What a child of `fork` has: the parent's serial numbers, in another process.
        let serial = next_serial();
        let parent = IdempotencyKey::for_call_in(serial, 1000);
        assert_eq!(parent, IdempotencyKey::for_call_in(serial, 1000));
        let child = IdempotencyKey::for_call_in(serial, 1001);
        assert_ne!(parent, child);
        assert_eq!(child, IdempotencyKey::for_call_in(serial, 1001));
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
        let published = Published::enter(Ownership::UNDECIDED, 1, 3);
        assert_eq!(context().map(|c| c.attempt()), Some(1));
        let inner = Published::enter(Ownership::UNDECIDED, 1, 5);
        // The nested call's code is the first to read the context: the serial number it draws
        // is the outer call's.
        let seen = context().expect("the outer call's context");
        assert_eq!(seen.max_attempts(), 3, "still the outer call's");
        let inner = inner.leave(Ownership::UNDECIDED);
        assert_eq!(inner, Ownership::NESTED);
        let key = context().map(|c| c.idempotency_key());
        assert_eq!(key, Some(seen.idempotency_key()), "the outer call's key");
        // A nested attempt resumed publishes nothing either, and one that panics leaves the
        // outer call's context as it was.
        let resumed = Published::enter(inner, 1, 5);
        assert_eq!(context().map(|c| c.max_attempts()), Some(3));
        assert_eq!(resumed.leave(inner), Ownership::NESTED);
        drop(Published::enter(inner, 1, 5));
        assert_eq!(context().map(|c| c.idempotency_key()), key);
        let outer = published.leave(Ownership::UNDECIDED);
        assert_eq!(context(), None);
        // The serial number drawn by the read is the owner's from now on, so its key is too.
        assert!(![Ownership::OWNER, Ownership::NESTED].contains(&outer));
        let published = Published::enter(outer, 3, 3);
        assert_eq!(context().map(|c| c.attempt()), Some(3));
        assert_eq!(context().map(|c| c.idempotency_key()), key);
        drop(published);
        assert_eq!(context(), None, "withdrawn by a panic too");
    }

    #[test]
    fn an_owner_polled_inside_another_calls_attempt_publishes_its_own_context() {
        // Its first attempt started outside any other, and suspended: it owns retry.
        let owner = Published::enter(Ownership::UNDECIDED, 1, 3).leave(Ownership::UNDECIDED);
        assert_eq!(owner, Ownership::UNDECIDED, "the hot path writes nothing");
        let owner = owner.decided();
        assert_eq!(owner, Ownership::OWNER);
        let other = Published::enter(Ownership::UNDECIDED, 1, 7);
        let other_key = context().map(|c| c.idempotency_key());
        let resumed = Published::enter(owner, 1, 3);
        let seen = context().expect("its own context");
        assert_eq!(seen.max_attempts(), 3);
        assert_ne!(Some(seen.idempotency_key()), other_key);
        let owner = resumed.leave(owner);
        assert!(![Ownership::OWNER, Ownership::NESTED].contains(&owner));
        // The other call's context, its serial number included, is as it was.
        assert_eq!(context().map(|c| c.max_attempts()), Some(7));
        assert_eq!(context().map(|c| c.idempotency_key()), other_key);
        assert_eq!(
            other.leave(Ownership::UNDECIDED),
            Ownership(other_serial(other_key))
        );
        assert_eq!(context(), None);
    }

    /// The serial number whose key is `key`, among the last few drawn.
    fn other_serial(key: Option<IdempotencyKey>) -> u64 {
        let (next, _) = SERIALS.with(Cell::get);
        (next.saturating_sub(16)..next)
            .find(|serial| NonZeroU64::new(*serial).map(IdempotencyKey::for_call) == key)
            .expect("a serial number drawn on this thread")
    }

    #[test]
    fn a_call_whose_context_is_never_read_draws_no_serial_number() {
        let call = Published::enter(Ownership::UNDECIDED, 1, 3).leave(Ownership::UNDECIDED);
        assert_eq!(call, Ownership::UNDECIDED);
        let call = call.decided();
        let call = Published::enter(call, 2, 3).leave(call);
        assert_eq!(call, Ownership::OWNER);
        assert_eq!(context(), None);
    }
}
