//! `cargo bench -p vta-retry-benches`: ns per call of every variant, a criterion group per body
//! shape on the success path and one per retry path, every call awaited on one current-thread
//! tokio runtime.
//!
//! Every routine is an `async` block that awaits the call and passes its output through
//! `std::hint::black_box`, returning `()`: criterion's own `black_box` (without its nightly
//! `real_blackbox` feature) is a volatile read of every byte of the output, which would add
//! the same sixteen loads to every variant.

use std::cell::Cell;
use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_main};
use tokio::runtime::Runtime;
use vta_retry_benches::{
    awaiting, early_return, expression, paused_runtime, retry, retry_timer, runtime, suspending,
};

/// One variant of a success-path group: `call(1)` awaited on `rt`, its output through
/// `black_box`.
fn variant<F, Fut, T>(group: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime, name: &str, call: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = T>,
{
    group.bench_function(name, |b| {
        b.to_async(rt).iter(|| async {
            let _ = black_box(call(black_box(1)).await);
        });
    });
}

/// The success path of each body shape: the body could fail (it reads a `static` at run time),
/// and does not.
fn success_path(c: &mut Criterion) {
    let rt = runtime();
    macro_rules! shape {
        ($shape:ident $(, $peer:ident)*) => {{
            let mut group = c.benchmark_group(stringify!($shape));
            variant(&mut group, &rt, "plain", $shape::plain);
            variant(&mut group, &rt, "hand_written", $shape::hand_written);
            variant(&mut group, &rt, "vta_retry", $shape::vta_retry);
            variant(&mut group, &rt, "vta_retry_every_key", $shape::vta_retry_every_key);
            variant(&mut group, &rt, "hand_written_context", $shape::hand_written_context);
            $(variant(&mut group, &rt, stringify!($peer), $shape::$peer);)*
            group.finish();
        }};
    }
    shape!(early_return, backon, backon_attr, tokio_retry2);
    shape!(expression, vta_retry_as_future);
    shape!(awaiting, backon, backon_attr, tokio_retry2);
    shape!(suspending);
}

/// One retry-path group: every variant of `$module`, on `$runtime`.
macro_rules! retry_group {
    ($c:expr, $name:literal, $module:ident, $runtime:expr) => {{
        let rt = $runtime;
        let mut group = $c.benchmark_group($name);
        group.bench_function("plain", |b| {
            b.to_async(&rt).iter(|| async {
                let calls = Cell::new(0);
                let _ = black_box($module::plain(black_box(1), &calls).await);
            });
        });
        group.bench_function("hand_written", |b| {
            b.to_async(&rt).iter(|| async {
                let calls = Cell::new(0);
                let _ = black_box($module::hand_written(black_box(1), &calls).await);
            });
        });
        group.bench_function("vta_retry", |b| {
            b.to_async(&rt).iter(|| async {
                let calls = Cell::new(0);
                let _ = black_box($module::vta_retry(black_box(1), &calls).await);
            });
        });
        group.bench_function("backon", |b| {
            b.to_async(&rt).iter(|| async {
                let calls = Cell::new(0);
                let _ = black_box($module::backon(black_box(1), &calls).await);
            });
        });
        group.bench_function("backon_attr", |b| {
            b.to_async(&rt).iter(|| async {
                let calls = Cell::new(0);
                let _ = black_box($module::backon_attr(black_box(1), &calls).await);
            });
        });
        group.bench_function("tokio_retry2", |b| {
            b.to_async(&rt).iter(|| async {
                let calls = Cell::new(0);
                let _ = black_box($module::tokio_retry2(black_box(1), &calls).await);
            });
        });
        group.finish();
    }};
}

/// The retry path: one transient failure, a zero wait, then success.
fn retry_path(c: &mut Criterion) {
    retry_group!(c, "retry", retry, runtime());
}

/// The retry path through tokio's timer: one transient failure, a 1 ms wait on the paused clock
/// (the clock jumps; nothing waits), then success. Every variant registers and fires a timer.
fn retry_timer_path(c: &mut Criterion) {
    retry_group!(c, "retry_timer", retry_timer, paused_runtime());
}

/// Every group, under the command line's options (`criterion_group!`, written out so that the
/// public function it defines has its documentation).
pub fn benches() {
    #[cfg(feature = "metrics")]
    if let Some(recorder) = vta_retry_benches::recorders::install_from_env() {
        eprintln!("metrics recorded by {recorder}");
    }
    let mut criterion = Criterion::default().configure_from_args();
    success_path(&mut criterion);
    retry_path(&mut criterion);
    retry_timer_path(&mut criterion);
}

criterion_main!(benches);
