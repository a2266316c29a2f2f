//! The wait between two attempts: tokio's timer, or for a zero wait, a unit of tokio's
//! cooperative budget.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;

/// Whether to sleep before the next attempt: a zero wait retries at once rather than waiting a
/// timer tick.
#[inline]
pub const fn must_wait(wait: Duration) -> bool {
    !wait.is_zero()
}

/// The wait between attempts: tokio's timer itself. An `async fn` around it would make a future
/// that stores the duration twice beside the timer.
#[inline]
#[track_caller]
pub fn sleep(wait: Duration) -> Sleep {
    tokio::time::sleep(wait)
}

pin_project! {
    /// The wait between two attempts of the attribute's loop, one future for both kinds, so that
    /// the expansion awaits once: tokio's timer, or for a zero wait a unit of tokio's cooperative
    /// budget, and a yield to the scheduler once the budget is spent, as tokio's own resources
    /// do. Without that, a body that fails without waiting would run every attempt inside one
    /// poll, where neither `select!` nor a timeout around the call could stop it.
    ///
    /// It carries the call's state across the wait and gives it back: the loop's own local for
    /// it is then never live across an await, so it stays in registers on the success path.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct Pause<T> {
        // tokio's timer for a wait; none for a zero wait, which never touches the timer.
        #[pin]
        sleep: Option<Sleep>,
        carried: T,
    }
}

/// The pause before the next attempt, `wait` long, carrying `carried` across it. Takes the wait
/// by value, so the expansion never borrows its local (a borrowed local would be stored in the
/// future across the pause).
#[inline]
#[track_caller]
pub fn pause<T: Copy>(wait: Duration, carried: T) -> Pause<T> {
    // Not `then(|| ..)`: a closure would hide the caller from tokio's `track_caller`.
    let sleep = if must_wait(wait) {
        Some(sleep(wait))
    } else {
        None
    };
    Pause { sleep, carried }
}

impl<T: Copy> Future for Pause<T> {
    type Output = T;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        let waited = match this.sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => poll_breathe(cx),
        };
        waited.map(|()| *this.carried)
    }
}

/// A zero wait's poll, for [`Pause`] and the function form's state machine. Out of line: a retry
/// with no wait is rare, and inlined, its thread-local lookup is hoisted into every call's first
/// poll.
#[inline(never)]
pub(crate) fn poll_breathe(cx: &mut Context<'_>) -> Poll<()> {
    tokio::task::coop::poll_proceed(cx).map(|budget| budget.made_progress())
}
