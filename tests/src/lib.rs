//! Shared fixtures for the vta-retry tests, examples and benchmarks.

pub mod recorder;
pub mod server;
pub mod simulation;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A scripted remote call: each call takes the next outcome and records when it happened, on
/// tokio's clock (paused in the tests, so the offsets are exact).
pub struct Script<E> {
    start: Instant,
    outcomes: Mutex<VecDeque<Result<u32, E>>>,
    calls: Mutex<Vec<Instant>>,
}

impl<E> Script<E> {
    /// A script that returns `outcomes` in order.
    pub fn new(outcomes: impl IntoIterator<Item = Result<u32, E>>) -> Self {
        Self {
            start: Instant::now(),
            outcomes: Mutex::new(outcomes.into_iter().collect()),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// One call: the next outcome. A call past the end of the script is a test failure.
    pub fn call(&self) -> Result<u32, E> {
        self.calls.lock().unwrap().push(Instant::now());
        self.outcomes
            .lock()
            .unwrap()
            .pop_front()
            .expect("the retry loop called more times than the script allows")
    }

    /// How many calls were made.
    pub fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    /// When each call was made, measured from the script's creation.
    pub fn call_times(&self) -> Vec<Duration> {
        let calls = self.calls.lock().unwrap();
        calls.iter().map(|at| *at - self.start).collect()
    }

    /// The gaps between consecutive calls: the waits the retry loop chose.
    pub fn waits(&self) -> Vec<Duration> {
        self.call_times().windows(2).map(|w| w[1] - w[0]).collect()
    }
}

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
