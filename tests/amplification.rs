//! Retry amplification, measured in a simulated fleet (`vta_retry_tests::simulation`): the
//! bounds each set-up must keep, never a sequence tied to a seed.

use vta_retry_tests::simulation::{CLIENTS, Setup, run};

#[test]
fn retries_multiply_an_outage_budgets_do_not_and_jitter_spreads_the_recovery() {
    let outcomes = Setup::ALL.map(run);
    let [no_retry, three, jitter, budget, both] = &outcomes;
    for outcome in &outcomes {
        assert_eq!(
            outcome.succeeded_after_recovery, outcome.calls_after_recovery,
            "{:?}: every call after the recovery succeeds",
            outcome.setup
        );
        assert!(outcome.calls_after_recovery >= 9 * CLIENTS as u64);
    }

    // Each client hangs in one call during the outage.
    assert_eq!(no_retry.outage_calls, CLIENTS as u64);
    assert_eq!(no_retry.amplification(), 1.0);
    assert_eq!(no_retry.succeeded + no_retry.outage_calls, no_retry.calls);

    // Every call the restart reset is sent again: twice the requests, and the retries all land
    // in one interval, 500 ms after the restart, where the service sees the whole fleet at once.
    assert_eq!(three.amplification(), 2.0);
    assert_eq!(
        three.succeeded, three.calls,
        "the retry carried every hung call"
    );
    assert!(
        three.peak_at_recovery() >= CLIENTS as u32,
        "{}",
        three.peak_at_recovery()
    );

    // Full jitter spreads the same retries over the 500 ms after the restart: 1,000 uniform
    // waits over five intervals put about 200 in each; over 500 in one would be a broken spread.
    assert_eq!(jitter.amplification(), 2.0);
    assert!(
        jitter.peak_at_recovery() < 500,
        "{}",
        jitter.peak_at_recovery()
    );

    // A budget of 100 tokens lets at most 50 of the reset calls retry: amplification stays at
    // or below 1.1, whatever the outage's length.
    for budgeted in [budget, both] {
        assert!(budgeted.amplification() <= 1.1, "{:?}", budgeted);
        assert!(budgeted.succeeded < budgeted.calls);
    }
    assert!(budget.peak_at_recovery() < three.peak_at_recovery() / 4);
}
