//! A `tracing` subscriber that records every span and event, with their fields as text, and the
//! span each event happened in: enough to count spans and to read what a retry reported.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A span as it was opened.
#[derive(Debug, Clone)]
pub struct SpanRecord {
    /// Its id: the order it was opened in, from 1.
    pub id: u64,
    /// Its name.
    pub name: &'static str,
    /// Its fields, as text.
    pub fields: BTreeMap<String, String>,
}

/// An event as it was recorded.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Its level.
    pub level: Level,
    /// Its fields, `message` included, as text.
    pub fields: BTreeMap<String, String>,
    /// The span it happened in.
    pub span: Option<u64>,
}

impl EventRecord {
    /// The field `name`, as text; empty if absent.
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// The recording subscriber.
#[derive(Default)]
pub struct Recorder {
    next_id: AtomicU64,
    spans: Mutex<Vec<SpanRecord>>,
    stack: Mutex<Vec<u64>>,
    events: Mutex<Vec<EventRecord>>,
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let mut fields = Fields::default();
        span.record(&mut fields);
        self.spans.lock().unwrap().push(SpanRecord {
            id,
            name: span.metadata().name(),
            fields: fields.0,
        });
        Id::from_u64(id)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = self.stack.lock().unwrap().last().copied();
        self.events.lock().unwrap().push(EventRecord {
            level: *event.metadata().level(),
            fields: fields.0,
            span,
        });
    }

    fn enter(&self, span: &Id) {
        self.stack.lock().unwrap().push(span.into_u64());
    }

    fn exit(&self, _: &Id) {
        self.stack.lock().unwrap().pop();
    }
}

impl Recorder {
    /// Every span opened, in order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<SpanRecord> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// Every event recorded, in order.
    pub fn events(&self) -> Vec<EventRecord> {
        self.events.lock().unwrap().clone()
    }

    /// The events at `level` or more severe.
    pub fn events_at_least(&self, level: Level) -> Vec<EventRecord> {
        self.events()
            .into_iter()
            .filter(|e| e.level <= level)
            .collect()
    }
}

/// Runs `call` to completion on a current-thread runtime with tokio's clock paused, recording
/// what it traces.
pub fn record<F: Future>(call: impl FnOnce() -> F) -> (F::Output, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    let output =
        tracing::subscriber::with_default(Arc::clone(&recorder), || runtime.block_on(call()));
    (output, recorder)
}
