//! A thousand concurrent annotated calls through vta-sdk's real REST client against a loopback
//! server that fails a deterministic share of them with `503`: every call ends, none makes more
//! than its three attempts, and the client's and the server's counts reconcile exactly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use vta_retry_runtime::vta_retry;
use vta_retry_tests::server::{Reply, Server};
use vta_sdk::client::{HealthResponse, VtaClient};
use vta_sdk::error::VtaError;

/// Concurrent calls on one shared client.
const CALLS: usize = 1000;

/// Concurrent calls with a client each. Fewer: every `VtaClient::new` builds its own reqwest
/// client, which parses the system's root certificates (about 10 ms each in a debug build).
const PLANNED_CALLS: usize = 250;

/// The attempts the attribute below allows.
const ATTEMPTS: u32 = 3;

/// Generous: the calls take a few seconds on a loaded two-core machine.
const ALL_CALLS_END_WITHIN: Duration = Duration::from_secs(120);

/// What one call did, counted inside the annotated function.
#[derive(Default)]
struct Counts {
    attempts: AtomicU32,
    failures: AtomicU32,
}

#[vta_retry(attempts = 3, backoff = "1ms")]
async fn health(client: &VtaClient, counts: &Counts) -> Result<HealthResponse, VtaError> {
    counts.attempts.fetch_add(1, Ordering::SeqCst);
    let outcome = client.health().await;
    if outcome.is_err() {
        counts.failures.fetch_add(1, Ordering::SeqCst);
    }
    outcome
}

/// One finished call: its number, attempts, failed attempts and outcome.
type Finished = (usize, u32, u32, Result<HealthResponse, VtaError>);

/// Call number `call`, with the attempts and failures it made.
async fn counted_call(call: usize, client: &VtaClient) -> Finished {
    let counts = Counts::default();
    let outcome = health(client, &counts).await;
    (
        call,
        counts.attempts.into_inner(),
        counts.failures.into_inner(),
        outcome,
    )
}

/// Runs every task in `calls` to the end, bounded by [`ALL_CALLS_END_WITHIN`].
async fn run_all(mut calls: JoinSet<Finished>) -> Vec<Finished> {
    let started = calls.len();
    let mut finished = Vec::with_capacity(started);
    tokio::time::timeout(ALL_CALLS_END_WITHIN, async {
        while let Some(call) = calls.join_next().await {
            finished.push(call.expect("a call panicked"));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {started} calls ended", finished.len()));
    finished
}

fn is_503(error: &VtaError) -> bool {
    matches!(error, VtaError::Server { status: 503, .. })
}

/// One client shared by every call, as an application holds it: the calls share its connection
/// pool, and the server fails every third request it reads, whichever call sent it. Which calls
/// give up depends on the interleaving; the totals do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_calls_on_one_client_reconcile() {
    let served = Arc::new(AtomicUsize::new(0));
    let server = Server::start({
        let served = Arc::clone(&served);
        move |_| {
            if served.fetch_add(1, Ordering::SeqCst) % 3 == 2 {
                Reply::status(503, r#"{"error":"busy"}"#)
            } else {
                Reply::Healthy
            }
        }
    })
    .await;
    let client = Arc::new(VtaClient::new(&server.url()));

    let mut calls = JoinSet::new();
    for call in 0..CALLS {
        let client = Arc::clone(&client);
        calls.spawn(async move { counted_call(call, &client).await });
    }
    let finished = run_all(calls).await;
    assert_eq!(finished.len(), CALLS);

    let requests = server.requests();
    let attempts: usize = finished.iter().map(|(_, a, _, _)| *a as usize).sum();
    let failures: usize = finished.iter().map(|(_, _, f, _)| *f as usize).sum();
    let successes = finished.iter().filter(|(.., o)| o.is_ok()).count();
    let give_ups = finished.iter().filter(|(.., o)| o.is_err()).count();
    for (call, attempts, failures, outcome) in &finished {
        assert!((1..=ATTEMPTS).contains(attempts), "call {call}: {attempts}");
        match outcome {
            // Every attempt before the last failed, and the last one succeeded.
            Ok(health) => {
                assert_eq!(health.status, "ok");
                assert_eq!(*failures, attempts - 1, "call {call}");
            }
            // A call gives up only on its last attempt, all of them 503s.
            Err(error) => {
                assert!(is_503(error), "call {call}: {error:?}");
                assert_eq!((*attempts, *failures), (ATTEMPTS, ATTEMPTS), "call {call}");
            }
        }
    }
    assert_eq!(
        attempts, requests,
        "attempts made == requests the server read"
    );
    assert_eq!(served.load(Ordering::SeqCst), requests);
    assert_eq!(
        failures,
        requests / 3,
        "every third request failed, no more"
    );
    assert_eq!(successes, requests - requests / 3);
    assert_eq!(successes + give_ups, CALLS);
    println!(
        "one client: {CALLS} calls, {requests} requests over {} connections, {failures} × 503, \
         {successes} successes, {give_ups} give-ups",
        server.connections()
    );
}

/// How many `503`s call `call` is answered with before its `200`s: 0 to 4, a fifth of the calls
/// each.
/// Calls planned 3 or 4 failures must give up after three attempts: a fourth attempt by a call
/// planned 3 would succeed and show up in the counts.
fn planned_failures(call: usize) -> u32 {
    (call % 5) as u32
}

/// A client per call, each on its own path (`/calls/<n>/health`), so the server knows which call
/// each request belongs to and every call's fate is planned: the counts are exact, per call and
/// in total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_calls_make_exactly_the_planned_attempts() {
    let served: Arc<Vec<AtomicU32>> =
        Arc::new((0..PLANNED_CALLS).map(|_| AtomicU32::new(0)).collect());
    let server = Server::start({
        let served = Arc::clone(&served);
        move |request| {
            let call: Option<usize> = request
                .path
                .strip_prefix("/calls/")
                .and_then(|rest| rest.strip_suffix("/health"))
                .and_then(|n| n.parse().ok());
            let Some(call) = call.filter(|&call| call < PLANNED_CALLS) else {
                return Reply::status(404, r#"{"error":"no such route"}"#);
            };
            if served[call].fetch_add(1, Ordering::SeqCst) < planned_failures(call) {
                Reply::status(503, r#"{"error":"busy"}"#)
            } else {
                Reply::Healthy
            }
        }
    })
    .await;

    let mut calls = JoinSet::new();
    for call in 0..PLANNED_CALLS {
        let client = VtaClient::new(&format!("{}/calls/{call}", server.url()));
        calls.spawn(async move { counted_call(call, &client).await });
    }
    let finished = run_all(calls).await;
    assert_eq!(finished.len(), PLANNED_CALLS);

    for (call, attempts, failures, outcome) in &finished {
        let planned = planned_failures(*call);
        let expected_attempts = (planned + 1).min(ATTEMPTS);
        assert_eq!(*attempts, expected_attempts, "call {call}");
        assert_eq!(*failures, planned.min(ATTEMPTS), "call {call}");
        assert_eq!(
            served[*call].load(Ordering::SeqCst),
            expected_attempts,
            "call {call}: requests the server read"
        );
        if planned < ATTEMPTS {
            assert_eq!(outcome.as_ref().unwrap().status, "ok", "call {call}");
        } else {
            let error = outcome.as_ref().unwrap_err();
            assert!(is_503(error), "call {call}: {error:?}");
        }
    }
    let requests = server.requests();
    let attempts: u32 = finished.iter().map(|(_, a, _, _)| a).sum();
    let failures: u32 = finished.iter().map(|(_, _, f, _)| f).sum();
    let successes = finished.iter().filter(|(.., o)| o.is_ok()).count();
    let give_ups = finished.iter().filter(|(.., o)| o.is_err()).count();
    // 50 calls of each plan: 1 + 2 + 3 + 3 + 3 attempts, 0 + 1 + 2 + 3 + 3 of them failed, and
    // the plans of 3 and 4 failures gave up.
    assert_eq!(requests, 50 * 12);
    assert_eq!(attempts, 50 * 12);
    assert_eq!(failures, 50 * 9);
    assert_eq!((successes, give_ups), (50 * 3, 50 * 2));
    println!(
        "planned: {PLANNED_CALLS} calls, {requests} requests over {} connections, {failures} × 503, \
         {successes} successes, {give_ups} give-ups",
        server.connections()
    );
}
