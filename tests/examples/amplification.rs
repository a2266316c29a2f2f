//! Retry amplification in a fleet: 1,000 clients, one service silent from 10 s to 30 s (requests
//! hang, then the restart resets them all at once), five retry set-ups. Prints the table the
//! README quotes and draws the load curves to `docs/amplification.svg`.
//!
//! ```text
//! cargo run --release --example amplification
//! ```

use vta_retry_tests::simulation::{
    CALLS_PER_CLIENT, CLIENTS, OUTAGE_END, OUTAGE_START, PERIOD, Setup, run, svg,
};

fn main() -> std::io::Result<()> {
    println!(
        "{CLIENTS} clients, a call each every {PERIOD:?} ({CALLS_PER_CLIENT} calls each), phases spread \
         evenly; the service is silent from {OUTAGE_START:?} to {OUTAGE_END:?}, when its restart \
         resets every hung request at once.\n"
    );
    println!(
        "| set-up | requests ÷ calls, for calls made during the outage | peak requests per 100 ms at recovery | calls that succeeded | calls after recovery that succeeded |"
    );
    println!("|---|---|---|---|---|");
    let outcomes: Vec<_> = Setup::ALL.into_iter().map(run).collect();
    for outcome in &outcomes {
        println!(
            "| `{}` | {:.3}× | {} | {} of {} | {} of {} |",
            outcome.setup.attribute(),
            outcome.amplification(),
            outcome.peak_at_recovery(),
            outcome.succeeded,
            outcome.calls,
            outcome.succeeded_after_recovery,
            outcome.calls_after_recovery,
        );
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/amplification.svg");
    std::fs::write(path, svg(&outcomes))?;
    println!("\nload curves: docs/amplification.svg");
    Ok(())
}
