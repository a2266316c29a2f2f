//! Bounded, classified retry of an async call, declared in one line.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use vta_retry_runtime::vta_retry;
//! use vta_sdk::error::VtaError;
//!
//! static CALLS: AtomicU32 = AtomicU32::new(0);
//!
//! // Fails once with a transient fault, as a stale DIDComm session does, then succeeds.
//! #[vta_retry(attempts = 3, backoff = "500ms..1s")]
//! async fn create_signing_key(label: &str) -> Result<String, VtaError> {
//!     if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
//!         return Err(VtaError::DidcommTransport("timeout waiting for DIDComm response".into()));
//!     }
//!     Ok(format!("key for {label}"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert_eq!(create_signing_key("persona").await.unwrap(), "key for persona");
//! assert_eq!(CALLS.load(Ordering::SeqCst), 2);
//! # }
//! ```
//!
//! - [`#[vta_retry]`](macro@vta_retry) rewrites an `async fn` returning `Result<T, E>` into a loop that awaits the body
//!   once per attempt. Its arguments are checked at compile time.
//! - [`Retryable`] says which errors are transient, and how long the server asked to wait; it is
//!   implemented for [`std::io::Error`], tokio's timeout error, [`TimedOut`] and, with the
//!   `vta-sdk` feature (on by default), `VtaError` ([`vta_retryable`] has the table).
//! - [`Policy`], [`Backoff`] and [`Jitter`] are the schedule and its bounds, as plain `const` data;
//!   [`Policy::decide`] is every decision the loop makes.
//! - [`Policy::retry`] and the function [`vta_retry()`](fn@vta_retry) are the same loop for a
//!   closure, for call sites that would rather not declare a function.
//! - [`RetryEvent`] is what an `on_retry` hook is told; feature `tracing` reports every retry as
//!   a span and events; feature `metrics` counts every attempt and call, times every attempt and
//!   gauges every budget through the `metrics` facade (`describe_metrics` lists the series).
//! - [`context()`] tells the code of an attempt which attempt of which call it is, with one
//!   [`IdempotencyKey`] per call; a call made inside another's attempt makes one attempt, so
//!   retries never multiply; a [`RetryBudget`] stops retries when too many attempts fail.
//!
//! # Retrying a create safely
//!
//! If the server processed a create and only the reply was lost, a retry creates a second one,
//! unless every attempt carries the same idempotency key. Over vta-sdk's `VtaError` (feature
//! `vta-sdk`), every attempt of one call dispatches under one vta-sdk idempotency key, which the
//! VTA deduplicates keyed Trust Tasks on: nothing to write. Elsewhere, the call context holds one
//! per call, to send:
//!
//! ```ignore
//! #[vta_retry]
//! async fn create_order(http: &reqwest::Client, order: &Order) -> Result<OrderId, ApiError> {
//!     let key = vta_retry_runtime::context().expect("inside an attempt").idempotency_key();
//!     send(http, order, &key.to_string()).await   // the same key on every attempt
//! }
//! ```
//!
//! # Arguments as passed
//!
//! The body runs once per attempt, and each attempt starts from the arguments as passed: a `mut`
//! argument is cloned (or copied, or reborrowed) from the untouched original. A body that moves
//! an argument that is not `mut` cannot run twice: rustc reports the move at your line ("value
//! moved here, in previous iteration of loop"). Take it by reference, clone it inside the body,
//! or declare it `mut`.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The expansion names the runtime `::vta_retry_runtime`; this makes that path work inside it too.
extern crate self as vta_retry_runtime;

mod budget;
mod context;
mod engine;
mod error;
mod event;
mod foreign;
mod function_form;
mod policy;
mod retryable;
#[cfg(feature = "vta-sdk")]
mod vta;
mod vta_key;

#[doc(hidden)]
pub mod __private;

pub use budget::RetryBudget;
pub use context::{CallContext, IdempotencyKey, context};
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use engine::describe_metrics;
pub use error::TimedOut;
pub use event::RetryEvent;
pub use foreign::transient_in_chain;
pub use function_form::{ByFn, ByFnWithHint, ByType, Classify, Hook, NoHook, Retry, vta_retry};
pub use policy::{Backoff, Decision, Failure, GiveUp, Jitter, Policy};
pub use retryable::Retryable;
#[cfg(feature = "vta-sdk")]
pub use vta::vta_retryable;
pub use vta_retry_macros::Retryable;
pub use vta_retry_macros::vta_retry;
