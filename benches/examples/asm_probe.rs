//! Each success-path variant of the early-return shape polled once with a no-op waker, in a function of its own, for
//! reading the generated code:
//! `cargo rustc --release -p vta-retry-benches --example asm_probe -- --emit asm`.

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use vta_retry_benches::{BenchError, awaiting, early_return, expression};

macro_rules! probe {
    ($name:ident, $shape:ident :: $variant:ident) => {
        /// Polls the variant's future once.
        #[inline(never)]
        fn $name(x: u64) -> Poll<Result<u64, BenchError>> {
            let mut cx = Context::from_waker(Waker::noop());
            pin!($shape::$variant(x)).as_mut().poll(&mut cx)
        }
    };
}

probe!(plain, early_return::plain);
probe!(hand_written, early_return::hand_written);
probe!(vta_retry, early_return::vta_retry);
probe!(expression_vta_retry, expression::vta_retry);
probe!(awaiting_hand_written, awaiting::hand_written);
probe!(awaiting_vta_retry, awaiting::vta_retry);

fn main() {
    let _rt = vta_retry_benches::runtime();
    println!("{:?}", plain(black_box(1)));
    println!("{:?}", hand_written(black_box(1)));
    println!("{:?}", vta_retry(black_box(1)));
    println!("{:?}", expression_vta_retry(black_box(1)));
    println!("{:?}", awaiting_hand_written(black_box(1)));
    println!("{:?}", awaiting_vta_retry(black_box(1)));
}
