//! Instructions per call on the success path, counted rather than timed, so that two builds can
//! be compared exactly on a noisy machine:
//!
//! ```text
//! cargo build --release -p vta-retry-benches --example instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/instructions <variant> <calls>
//! ```
//!
//! Each run awaits `<calls>` calls of `success::<variant>` on one current-thread runtime;
//! callgrind's "Collected" total for 1,000,000 calls, less the total for 0, divided by
//! 1,000,000, is the instructions of one call. `scripts/instructions.sh` does the arithmetic.

use std::hint::black_box;

use vta_retry_benches::success;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "vta_retry".to_owned());
    let calls: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = vta_retry_benches::runtime();
    runtime.block_on(async {
        for i in 0..calls {
            let _ = black_box(match variant.as_str() {
                "plain" => success::plain(black_box(i)).await,
                "hand_written" => success::hand_written(black_box(i)).await,
                "vta_retry" => success::vta_retry(black_box(i)).await,
                "backon" => success::backon(black_box(i)).await,
                "backon_attr" => success::backon_attr(black_box(i)).await,
                "tokio_retry2" => success::tokio_retry2(black_box(i)).await,
                other => panic!("no variant {other}"),
            });
        }
    });
}
