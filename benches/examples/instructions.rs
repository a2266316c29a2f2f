//! Instructions per call on the success path, counted rather than timed, so that two builds can
//! be compared exactly on a noisy machine:
//!
//! ```text
//! cargo build --release -p vta-retry-benches --example instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/instructions <variant> <calls>
//! ```
//!
//! Each run awaits `<calls>` calls of `<shape>::<variant>` (named `shape/variant`) on one
//! current-thread runtime;
//! callgrind's "Collected" total for 1,000,000 calls, less the total for 0, divided by
//! 1,000,000, is the instructions of one call. `scripts/instructions.sh` does the arithmetic.

use std::hint::black_box;

use vta_retry_benches::{awaiting, early_return, expression, suspending};

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args
        .next()
        .unwrap_or_else(|| "early_return/vta_retry".to_owned());
    let calls: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = vta_retry_benches::runtime();
    macro_rules! variants {
        ($($shape:ident: $($name:ident),*;)*) => {
            match variant.as_str() {
                $($(
                    concat!(stringify!($shape), "/", stringify!($name)) => {
                        runtime.block_on(run(calls, $shape::$name))
                    }
                )*)*
                other => panic!("no variant {other}: write <shape>/<variant>, as early_return/vta_retry"),
            }
        };
    }
    variants! {
        early_return: plain, hand_written, hand_written_context, vta_retry, vta_retry_every_key, backon, backon_attr, tokio_retry2;
        expression: plain, hand_written, hand_written_context, vta_retry, vta_retry_every_key, vta_retry_as_future;
        awaiting: plain, hand_written, hand_written_context, vta_retry, vta_retry_every_key, backon, backon_attr, tokio_retry2;
        suspending: plain, hand_written, hand_written_context, vta_retry, vta_retry_every_key;
    }
}

/// `calls` calls of one variant, awaited in turn: one loop per variant, so that the loop around
/// each is the same code.
async fn run<F, Fut, T>(calls: u64, variant: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = T>,
{
    for i in 0..calls {
        black_box(variant(black_box(i)).await);
    }
}
