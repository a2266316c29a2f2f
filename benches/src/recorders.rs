//! Feature `metrics`: the recorders the benchmarks and the allocation test run under.
//!
//! - [`install_from_env`]: `VTA_BENCH_RECORDER=prometheus` installs Prometheus's recorder, as a
//!   service that exports its metrics would, with its upkeep on a thread of its own;
//!   `VTA_BENCH_RECORDER=tally` installs [`Tally`], the cheapest a recorder can be, so that what
//!   is timed is the runtime's own reporting; unset or `none`, none is installed, and the runtime reports
//!   to the facade's no-op recorder.
//! - [`Tally`]: a recorder that allocates nothing once built, every series one atomic, so that
//!   the allocation test sees the runtime's own allocations alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// Installs the recorder `VTA_BENCH_RECORDER` names, and says which; `None` when it names none.
pub fn install_from_env() -> Option<&'static str> {
    match std::env::var("VTA_BENCH_RECORDER").ok()?.as_str() {
        "prometheus" => {
            let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .expect("the only recorder");
            // Histograms are buffered until the upkeep drains them, as a real exporter's does.
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    handle.run_upkeep();
                }
            });
            Some("prometheus")
        }
        "tally" => {
            metrics::set_global_recorder(Tally::default()).expect("the only recorder");
            Some("tally")
        }
        "none" => None,
        other => {
            panic!("VTA_BENCH_RECORDER={other}: the recorders are `prometheus`, `tally` and `none`")
        }
    }
}

/// A recorder whose every counter, gauge and histogram is one shared atomic: it allocates nothing
/// once built, and counts what it is told.
#[derive(Debug, Default)]
pub struct Tally {
    cell: Arc<Cell>,
}

/// The one atomic behind every series of a [`Tally`].
#[derive(Debug, Default)]
struct Cell(AtomicU64);

impl Tally {
    /// Every increment, gauge write and histogram sample so far.
    pub fn events(&self) -> u64 {
        self.cell.0.load(Ordering::Relaxed)
    }
}

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, _: u64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn decrement(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn set(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Recorder for Tally {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell.clone())
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell.clone())
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell.clone())
    }
}
