//! One vta-sdk idempotency key across every attempt of a call.
//!
//! The VTA deduplicates a keyed Trust Task (`keys/create`, a DID create, …) by the
//! `idempotencyKey` its document carries, so a re-send whose first reply was lost is answered
//! from the record of the first execution instead of creating twice. vta-sdk's dispatcher writes
//! that key from a task-local that only [`VtaClient::idempotent`] scopes, and `idempotent` mints
//! a new key each time it is called. So a call that holds a key runs its whole retry loop inside
//! one `idempotent` scope, whose closure runs once and never fails: every attempt dispatches under
//! the one key, and `idempotent`'s own retry never runs.
//!
//! ```text
//! // Input: the retry loop of a call that holds a key
//! hold(async { let call = Call::start_keyed(..); loop { ATTEMPT; WAIT } })
//!
//! // Output: the loop under one key, or under the key already in scope
//! key in scope (inside `client.idempotent(..)`) → the loop, as one attempt: that scope's owner retries
//! no key in scope                               → HOLDER.idempotent(once(the loop))
//! ```
//!
//! [`VtaClient::idempotent`]: vta_sdk::client::VtaClient::idempotent

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// What a call is to the VTA key in scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRole {
    /// The call holds no key of its own; it collapses to one attempt if it finds, after a
    /// failure, that someone else holds one around it (vta-sdk's `idempotent` owns retry then).
    Unkeyed,
    /// The call scoped the key its attempts dispatch under: it owns retry.
    Holder,
    /// The call asked for a key and found one in scope already: the holder of that key owns
    /// retry, and this call makes one attempt under it.
    UnderAnotherHolder,
}

thread_local! {
    /// The role of the keyed call whose loop [`hold`] is about to poll for the first time, read
    /// once by [`take_role`] when that loop makes its call state.
    static NEXT_ROLE: Cell<KeyRole> = const { Cell::new(KeyRole::Unkeyed) };
}

/// The role [`hold`] gave the call being started, reset so that no other call reads it.
pub(crate) fn take_role() -> KeyRole {
    NEXT_ROLE.with(|role| role.replace(KeyRole::Unkeyed))
}

pin_project! {
    /// A call's loop, told its role when it is first polled.
    struct WithRole<F> {
        role: Option<KeyRole>,
        #[pin]
        attempts: F,
    }
}

impl<F: Future> Future for WithRole<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match this.role.take() {
            Some(role) => {
                NEXT_ROLE.with(|next| next.set(role));
                let polled = this.attempts.poll(cx);
                // Read by the loop's first statement; cleared in case the loop was not keyed.
                NEXT_ROLE.with(|next| next.set(KeyRole::Unkeyed));
                polled
            }
            None => this.attempts.poll(cx),
        }
    }
}

/// Runs a call's retry loop under one VTA idempotency key: the key in scope if there is one (its
/// holder owns retry, and the loop makes one attempt), else a new one held for the whole loop.
#[cfg(feature = "vta-sdk")]
pub async fn hold<F: Future>(attempts: F) -> F::Output {
    if key_in_scope() {
        let attempts = WithRole {
            role: Some(KeyRole::UnderAnotherHolder),
            attempts,
        };
        return attempts.await;
    }
    under_new_key(WithRole {
        role: Some(KeyRole::Holder),
        attempts,
    })
    .await
}

/// Runs `future` under a new VTA idempotency key, minted and scoped by vta-sdk's
/// `VtaClient::idempotent`, whose closure runs once: `idempotent` calls it again only after an
/// `Err`, and it never returns one, so `idempotent`'s own retry never runs.
///
/// The future is boxed: `idempotent` keeps its closure, and the closure's slot for the future,
/// beside the future it returned, so a future held by value would take its room twice, and twice
/// again for every keyed call nested in it.
#[cfg(feature = "vta-sdk")]
pub(crate) async fn under_new_key<F: Future>(future: F) -> F::Output {
    let mut future = Some(Box::pin(future));
    let outcome = holder()
        .idempotent(move || {
            let future = future.take();
            async move {
                Ok(match future {
                    Some(future) => Some(future.await),
                    None => None,
                })
            }
        })
        .await;
    match outcome {
        Ok(Some(outcome)) => outcome,
        Ok(None) | Err(_) => {
            unreachable!("vta-sdk's `idempotent` ran a closure that succeeded twice")
        }
    }
}

/// Without vta-sdk there is no key to hold: the loop as it is.
#[cfg(not(feature = "vta-sdk"))]
pub async fn hold<F: Future>(attempts: F) -> F::Output {
    attempts.await
}

/// Whether a VTA idempotency key is in scope on this task.
#[cfg(feature = "vta-sdk")]
pub(crate) fn key_in_scope() -> bool {
    vta_sdk::idempotency::current_key().is_some()
}

/// Whether a VTA idempotency key is in scope on this task: never, without vta-sdk.
#[cfg(not(feature = "vta-sdk"))]
pub(crate) fn key_in_scope() -> bool {
    false
}

/// The key in scope, as the 128 bits of its UUID: vta-sdk writes it as `urn:uuid:<uuid>`.
#[cfg(feature = "vta-sdk")]
pub(crate) fn key_bits_in_scope() -> Option<u128> {
    let key = vta_sdk::idempotency::current_key()?;
    let uuid = key.strip_prefix("urn:uuid:").unwrap_or(&key);
    uuid::Uuid::try_parse(uuid).ok().map(|uuid| uuid.as_u128())
}

/// Without vta-sdk there is never a VTA key in scope.
#[cfg(not(feature = "vta-sdk"))]
pub(crate) fn key_bits_in_scope() -> Option<u128> {
    None
}

/// The client whose `idempotent` scopes the keys. Its scope is the task's, not this client's:
/// every `VtaClient` dispatching on the task writes the key. Built once, and never sends.
#[cfg(feature = "vta-sdk")]
fn holder() -> &'static vta_sdk::client::VtaClient {
    static HOLDER: std::sync::OnceLock<vta_sdk::client::VtaClient> = std::sync::OnceLock::new();
    HOLDER.get_or_init(|| vta_sdk::client::VtaClient::new("http://127.0.0.1:9"))
}

/// `vta_key = true` compiles only with vta-sdk: the key is vta-sdk's.
#[diagnostic::on_unimplemented(
    message = "`vta_key = true` needs the `vta-sdk` feature of `vta-retry-runtime`",
    label = "the VTA key is vta-sdk's, and the runtime was built without it",
    note = "enable it: `vta-retry-runtime = {{ version = \"0.1\", features = [\"vta-sdk\"] }}`"
)]
pub trait VtaSdkEnabled {}

#[cfg(feature = "vta-sdk")]
impl VtaSdkEnabled for () {}

/// Checks, where `vta_key = true` is written, that the runtime has vta-sdk.
#[inline]
pub const fn vta_key_needs_vta_sdk<T: VtaSdkEnabled>() {}

#[cfg(all(test, feature = "vta-sdk"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_key_is_in_scope_for_the_whole_loop_and_none_after() {
        assert!(!key_in_scope());
        let keys = hold(async {
            assert_eq!(take_role(), KeyRole::Holder);
            let first = key_bits_in_scope();
            tokio::task::yield_now().await;
            (first, key_bits_in_scope())
        })
        .await;
        assert!(keys.0.is_some());
        assert_eq!(keys.0, keys.1);
        assert!(!key_in_scope());
    }

    #[tokio::test]
    async fn a_key_in_scope_already_is_kept_and_its_holder_owns_retry() {
        let outer = hold(async {
            let outer = key_bits_in_scope();
            let inner = hold(async {
                assert_eq!(take_role(), KeyRole::UnderAnotherHolder);
                key_bits_in_scope()
            })
            .await;
            assert_eq!(inner, outer);
            outer
        })
        .await;
        assert!(outer.is_some());
    }
}
