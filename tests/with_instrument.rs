//! `#[vta_retry]` beside `#[tracing::instrument]`, in either order, counted by a subscriber that
//! records every span and which span each event happened in.
//!
//! - `#[vta_retry]` above `#[instrument]`: `instrument` wraps the whole retry loop, so one span
//!   covers the call and every attempt's events fall in it.
//! - `#[instrument]` above `#[vta_retry]`: the loop retries `instrument`'s body, span included, so
//!   each attempt has a span of its own, `&mut self` methods too.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use vta_retry_runtime::vta_retry;

/// Every span opened, by name, and for every event the span it was recorded in.
#[derive(Default)]
struct Recorder {
    next_id: AtomicU64,
    spans: Mutex<Vec<&'static str>>,
    stack: Mutex<Vec<u64>>,
    events: Mutex<Vec<Option<u64>>>,
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.spans.lock().unwrap().push(span.metadata().name());
        Id::from_u64(self.next_id.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {
        let current = self.stack.lock().unwrap().last().copied();
        self.events.lock().unwrap().push(current);
    }

    fn enter(&self, span: &Id) {
        self.stack.lock().unwrap().push(span.into_u64());
    }

    fn exit(&self, _: &Id) {
        self.stack.lock().unwrap().pop();
    }
}

impl Recorder {
    /// How many spans the recorded run opened.
    fn span_count(&self) -> usize {
        self.spans.lock().unwrap().len()
    }

    /// The span each event was recorded in.
    fn event_spans(&self) -> Vec<Option<u64>> {
        self.events.lock().unwrap().clone()
    }
}

/// Runs `call` to completion on a current-thread runtime, recording what it traces.
fn record<F: Future>(call: impl FnOnce() -> F) -> (F::Output, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let output =
        tracing::subscriber::with_default(Arc::clone(&recorder), || runtime.block_on(call()));
    (output, recorder)
}

/// Fails the first call with a reset connection.
struct Remote {
    calls: u32,
}

impl Remote {
    fn call(&mut self) -> io::Result<u32> {
        self.calls += 1;
        tracing::info!(call = self.calls, "calling");
        if self.calls == 1 {
            Err(io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(self.calls)
        }
    }

    #[vta_retry(backoff = "1ms")]
    #[tracing::instrument(skip(self))]
    async fn retry_above(&mut self) -> io::Result<u32> {
        let value = self.call()?;
        Ok(value)
    }

    #[tracing::instrument(skip(self))]
    #[vta_retry(backoff = "1ms")]
    async fn instrument_above(&mut self) -> io::Result<u32> {
        let value = self.call()?;
        Ok(value)
    }
}

#[vta_retry(backoff = "1ms")]
#[tracing::instrument]
async fn free_retry_above(label: &str, calls: &std::cell::Cell<u32>) -> io::Result<u32> {
    calls.set(calls.get() + 1);
    tracing::info!("calling");
    if calls.get() == 1 {
        return Err(io::ErrorKind::ConnectionReset.into());
    }
    Ok(calls.get())
}

#[tracing::instrument]
#[vta_retry(backoff = "1ms")]
async fn free_instrument_above(label: &str, calls: &std::cell::Cell<u32>) -> io::Result<u32> {
    calls.set(calls.get() + 1);
    tracing::info!("calling");
    if calls.get() == 1 {
        return Err(io::ErrorKind::ConnectionReset.into());
    }
    Ok(calls.get())
}

#[test]
fn retry_above_instrument_gives_one_span_for_the_call() {
    let mut remote = Remote { calls: 0 };
    let (value, recorder) = record(|| remote.retry_above());
    assert_eq!(value.unwrap(), 2);
    assert_eq!(recorder.span_count(), 1);
    assert_eq!(recorder.event_spans(), [Some(1), Some(1)]);

    let calls = std::cell::Cell::new(0);
    let (value, recorder) = record(|| free_retry_above("a", &calls));
    assert_eq!(value.unwrap(), 2);
    assert_eq!(recorder.span_count(), 1);
    assert_eq!(recorder.event_spans(), [Some(1), Some(1)]);
}

#[test]
fn instrument_above_retry_gives_a_span_per_attempt_even_on_mut_self() {
    let mut remote = Remote { calls: 0 };
    let (value, recorder) = record(|| remote.instrument_above());
    assert_eq!(value.unwrap(), 2);
    assert_eq!(recorder.span_count(), 2);
    assert_eq!(recorder.event_spans(), [Some(1), Some(2)]);

    let calls = std::cell::Cell::new(0);
    let (value, recorder) = record(|| free_instrument_above("b", &calls));
    assert_eq!(value.unwrap(), 2);
    assert_eq!(recorder.span_count(), 2);
    assert_eq!(recorder.event_spans(), [Some(1), Some(2)]);
}
