//! `#[vta_retry]` beside `#[tracing::instrument]`, in either order, counted by a subscriber that
//! records every span and which span each event happened in.
//!
//! - `#[vta_retry]` above `#[instrument]`: `instrument` wraps the whole retry loop, so one span
//!   covers the call and every attempt's events fall in it.
//! - `#[instrument]` above `#[vta_retry]`: the loop retries `instrument`'s body, span included, so
//!   each attempt has a span of its own, `&mut self` methods too, and with `err` or `ret`
//!   each attempt's outcome is logged in its span.

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

    #[tracing::instrument(skip(self), err)]
    #[vta_retry(backoff = "1ms")]
    async fn instrument_err_above(&mut self) -> io::Result<u32> {
        let value = self.call()?;
        Ok(value)
    }

    #[tracing::instrument(skip(self), err, ret)]
    #[vta_retry(backoff = "1ms")]
    async fn instrument_err_ret_above(&mut self, path: String) -> io::Result<u32> {
        let value = self.call()?;
        Ok(value + u32::try_from(path.len()).unwrap_or(0))
    }
}

#[tracing::instrument(ret)]
#[vta_retry(backoff = "1ms")]
async fn free_instrument_ret_above(label: String, calls: &std::cell::Cell<u32>) -> io::Result<u32> {
    calls.set(calls.get() + 1);
    tracing::info!("calling");
    if calls.get() == 1 {
        return Err(io::ErrorKind::ConnectionReset.into());
    }
    Ok(calls.get())
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

/// The events `#[instrument(err)]` and `#[instrument(ret)]` logged, which have no message
/// (the runtime's own retry events have one): the errors and the values.
fn outcomes_logged(recorder: &Recorder) -> (Vec<String>, Vec<String>) {
    let events = recorder.events();
    let logged = |field: &str| {
        events
            .iter()
            .filter(|event| {
                event.fields.contains_key(field) && !event.fields.contains_key("message")
            })
            .map(|event| event.field(field).to_owned())
            .collect()
    };
    (logged("error"), logged("return"))
}

#[test]
fn instrument_err_and_ret_above_retry_log_each_attempts_outcome() {
    let mut remote = Remote { calls: 0 };
    let (value, recorder) = record(|| remote.instrument_err_above());
    assert_eq!(value.unwrap(), 2);
    assert_eq!(
        instrument_spans(&recorder, "instrument_err_above"),
        (2, vec![Some(1), Some(2)])
    );
    let reset = io::Error::from(io::ErrorKind::ConnectionReset).to_string();
    assert_eq!(outcomes_logged(&recorder), (vec![reset.clone()], vec![]));

    let mut remote = Remote { calls: 0 };
    let (value, recorder) = record(|| remote.instrument_err_ret_above("keys".into()));
    assert_eq!(value.unwrap(), 6);
    assert_eq!(
        instrument_spans(&recorder, "instrument_err_ret_above"),
        (2, vec![Some(1), Some(2)])
    );
    assert_eq!(
        outcomes_logged(&recorder),
        (vec![reset], vec!["6".to_owned()])
    );

    let calls = std::cell::Cell::new(0);
    let (value, recorder) = record(|| free_instrument_ret_above("c".into(), &calls));
    assert_eq!(value.unwrap(), 2);
    assert_eq!(
        instrument_spans(&recorder, "free_instrument_ret_above"),
        (2, vec![Some(1), Some(2)])
    );
    let (_, returned) = outcomes_logged(&recorder);
    assert_eq!(returned.len(), 2, "each attempt's outcome: {returned:?}");
}
