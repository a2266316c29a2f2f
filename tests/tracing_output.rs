//! What feature `tracing` reports: a span per attempt after the first, carrying its number, that
//! the body's own events nest under whatever the attribute order; one `WARN` per retry with the
//! attempt, the attempts allowed, the wait, the error and the function; one `WARN` on giving up;
//! nothing at `WARN` when the first attempt succeeds.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use tracing::Level;
use vta_retry_runtime::vta_retry;
use vta_retry_tests::recorder::record;

/// Fails its first `failures` calls with a reset connection, logging each call.
struct Remote {
    failures: u32,
    calls: AtomicU32,
}

impl Remote {
    fn new(failures: u32) -> Self {
        Self {
            failures,
            calls: AtomicU32::new(0),
        }
    }

    fn call(&self) -> io::Result<u32> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::info!(call, "calling");
        if call <= self.failures {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "reset by peer",
            ))
        } else {
            Ok(call)
        }
    }
}

#[vta_retry(attempts = 3, backoff = "250ms")]
async fn fetch(remote: &Remote) -> io::Result<u32> {
    remote.call()
}

#[vta_retry(attempts = 10, backoff = "1s", max_elapsed = "2500ms")]
async fn fetch_with_deadline(remote: &Remote) -> io::Result<u32> {
    remote.call()
}

#[tracing::instrument(skip(remote))]
#[vta_retry(attempts = 3, backoff = "250ms")]
async fn instrumented_outside(remote: &Remote) -> io::Result<u32> {
    remote.call()
}

#[vta_retry(attempts = 3, backoff = "250ms")]
#[tracing::instrument(skip(remote))]
async fn instrumented_inside(remote: &Remote) -> io::Result<u32> {
    remote.call()
}

#[test]
fn a_first_attempt_success_says_nothing_at_warn_and_opens_no_span() {
    let remote = Remote::new(0);
    let (value, recorder) = record(|| fetch(&remote));
    assert_eq!(value.unwrap(), 1);
    assert!(recorder.events_at_least(Level::WARN).is_empty());
    assert!(recorder.spans_named("retry").is_empty());
}

#[test]
fn each_retry_is_one_warn_event_with_its_fields() {
    let remote = Remote::new(2);
    let (value, recorder) = record(|| fetch(&remote));
    assert_eq!(value.unwrap(), 3);
    let warnings = recorder.events_at_least(Level::WARN);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    for (i, warning) in warnings.iter().enumerate() {
        assert_eq!(warning.level, Level::WARN);
        assert_eq!(warning.field("function"), "fetch");
        assert_eq!(warning.field("attempt"), (i + 1).to_string());
        assert_eq!(warning.field("max_attempts"), "3");
        assert_eq!(warning.field("wait_ms"), "250");
        assert_eq!(warning.field("error"), "reset by peer");
    }
}

#[test]
fn each_attempt_after_the_first_runs_in_a_span_with_its_number() {
    let remote = Remote::new(2);
    let (_, recorder) = record(|| fetch(&remote));
    let spans = recorder.spans_named("retry");
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].fields["attempt"], "2");
    assert_eq!(spans[1].fields["attempt"], "3");
    assert_eq!(spans[0].fields["function"], "fetch");
    let calls: Vec<Option<u64>> = recorder
        .events()
        .into_iter()
        .filter(|e| e.field("message") == "calling")
        .map(|e| e.span)
        .collect();
    assert_eq!(calls, [None, Some(spans[0].id), Some(spans[1].id)]);
}

#[test]
fn giving_up_is_one_warn_event_with_the_attempts_made() {
    let remote = Remote::new(99);
    let (value, recorder) = record(|| fetch(&remote));
    assert!(value.is_err());
    let warnings = recorder.events_at_least(Level::WARN);
    assert_eq!(warnings.len(), 3, "two retries and the end: {warnings:#?}");
    let end = &warnings[2];
    assert_eq!(end.field("attempts"), "3");
    assert_eq!(end.field("reason"), "attempts exhausted");
    assert_eq!(end.field("error"), "reset by peer");
}

#[test]
fn giving_up_at_the_deadline_says_so() {
    let remote = Remote::new(99);
    let (value, recorder) = record(|| fetch_with_deadline(&remote));
    assert!(value.is_err());
    let end = recorder
        .events_at_least(Level::WARN)
        .pop()
        .expect("an event");
    assert_eq!(end.field("reason"), "deadline");
    assert_eq!(end.field("attempts"), "3");
    assert_eq!(end.field("elapsed_ms"), "2000");
}

#[test]
fn the_attempt_span_holds_the_bodys_events_in_either_attribute_order() {
    for outside in [true, false] {
        let remote = Remote::new(1);
        let (value, recorder) = if outside {
            record(|| instrumented_outside(&remote))
        } else {
            record(|| instrumented_inside(&remote))
        };
        assert_eq!(value.unwrap(), 2);
        let retry = recorder.spans_named("retry");
        assert_eq!(retry.len(), 1, "outside: {outside}");
        let second_call = recorder
            .events()
            .into_iter()
            .filter(|e| e.field("message") == "calling")
            .nth(1)
            .expect("two calls");
        // Inside the attempt's span, or inside `instrument`'s span opened inside it.
        assert!(
            second_call.span.is_some_and(|span| span >= retry[0].id),
            "outside: {outside}: {second_call:?} / {retry:?}"
        );
    }
}

#[vta_retry(attempts = 3, backoff = "250ms")]
async fn outer_fetch(remote: &Remote) -> io::Result<u32> {
    fetch(remote).await
}

/// The only test in this binary that nests: the once-per-process warning is its to see.
#[test]
fn a_collapsed_inner_retry_is_said_once() {
    let remote = Remote::new(1);
    let (value, recorder) = record(|| outer_fetch(&remote));
    assert_eq!(value.unwrap(), 2);
    let collapsed: Vec<_> = recorder
        .events()
        .into_iter()
        .filter(|e| {
            e.field("message")
                .contains("inside an attempt of another retried call")
        })
        .collect();
    assert_eq!(collapsed.len(), 1, "{collapsed:#?}");
    assert_eq!(collapsed[0].level, Level::WARN);
    assert_eq!(collapsed[0].field("function"), "fetch");
    // The retry itself is the outer call's.
    let retries: Vec<_> = recorder
        .events_at_least(Level::WARN)
        .into_iter()
        .filter(|e| !e.field("attempt").is_empty())
        .collect();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].field("function"), "outer_fetch");
}
