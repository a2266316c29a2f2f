//! `#[vta_retry]` beside `#[tracing::instrument]`, in either order, counted by a subscriber that
//! records every span and which span each event happened in.
//!
//! - `#[vta_retry]` above `#[instrument]`: `instrument` wraps the whole retry loop, so one span
//!   covers the call and every attempt's events fall in it.
//! - `#[instrument]` above `#[vta_retry]`: the loop retries `instrument`'s body, span included, so
//!   each attempt has a span of its own, `&mut self` methods too.

use std::io;

use vta_retry_runtime::vta_retry;
use vta_retry_tests::recorder::{Recorder, record};

/// The spans `#[instrument]` opened for `function`, and the span of each event the body logged
/// ("calling"), by their order among those spans: 1 for the first, and so on.
fn instrument_spans(recorder: &Recorder, function: &str) -> (usize, Vec<Option<usize>>) {
    let spans = recorder.spans_named(function);
    let events = recorder
        .events()
        .into_iter()
        .filter(|event| event.field("message") == "calling")
        .map(|event| {
            // The body's event is in the attempt's own span (feature `tracing`) for attempts
            // after the first; that span sits inside `instrument`'s when `instrument` is above.
            let ids: Vec<u64> = spans.iter().map(|s| s.id).collect();
            event.span.and_then(|id| {
                ids.iter()
                    .position(|known| *known == id)
                    .or_else(|| ids.iter().rposition(|known| *known < id))
                    .map(|i| i + 1)
            })
        })
        .collect();
    (spans.len(), events)
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
    assert_eq!(
        instrument_spans(&recorder, "retry_above"),
        (1, vec![Some(1), Some(1)])
    );

    let calls = std::cell::Cell::new(0);
    let (value, recorder) = record(|| free_retry_above("a", &calls));
    assert_eq!(value.unwrap(), 2);
    assert_eq!(
        instrument_spans(&recorder, "free_retry_above"),
        (1, vec![Some(1), Some(1)])
    );
}

#[test]
fn instrument_above_retry_gives_a_span_per_attempt_even_on_mut_self() {
    let mut remote = Remote { calls: 0 };
    let (value, recorder) = record(|| remote.instrument_above());
    assert_eq!(value.unwrap(), 2);
    assert_eq!(
        instrument_spans(&recorder, "instrument_above"),
        (2, vec![Some(1), Some(2)])
    );

    let calls = std::cell::Cell::new(0);
    let (value, recorder) = record(|| free_instrument_above("b", &calls));
    assert_eq!(value.unwrap(), 2);
    assert_eq!(
        instrument_spans(&recorder, "free_instrument_above"),
        (2, vec![Some(1), Some(2)])
    );
}
