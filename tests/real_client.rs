//! `#[vta_retry]` around vta-sdk's own REST client, [`VtaClient`], against a loopback server that
//! injects faults ([`vta_retry_tests::server`]).
//!
//! Every error here is the one the SDK really builds from a real response or a real socket
//! failure. Attempts are counted twice: inside the annotated function (what the retry loop did)
//! and by the server (what reached the wire). The tests assert counts and error variants, never
//! durations: reqwest runs on the real clock, so waits are kept at 1 ms.

use std::future::Future;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use vta_retry_runtime::{Policy, Retryable, vta_retry, vta_retryable};
use vta_retry_tests::server::{Reply, Server, refused_url};
use vta_sdk::client::{HealthResponse, VtaClient};
use vta_sdk::error::{RateLimitSource, VtaError};

/// `GET /health`, retried on transient faults with 1 ms between attempts.
#[vta_retry(attempts = 3, backoff = "1ms")]
async fn health(client: &VtaClient, attempts: &AtomicU32) -> Result<HealthResponse, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    client.health().await
}

/// The seed's helper, as an attribute: `GET /health` under the original policy.
#[vta_retry(attempts = 3, backoff = "500ms..1s")]
async fn health_as_the_seed_did(
    client: &VtaClient,
    attempts: &AtomicU32,
) -> Result<HealthResponse, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    client.health().await
}

// ── The seed's failure: a keep-alive connection that goes silent ─────────────────────────────

/// The variable vta-sdk's `rest_client()` reads its request timeout from (default 30 s).
const TIMEOUT_VAR: &str = "VTA_REST_TIMEOUT_SECS";

/// Runs the test `name` with `VTA_REST_TIMEOUT_SECS=1`, so a silent connection costs the SDK's
/// timeout of one second instead of thirty.
///
/// The variable is set on a child process of this test binary that runs only `name`, not on this
/// process: `std::env::set_var` is `unsafe` in edition 2024 because another thread may read the
/// environment at the same moment (libtest runs tests on several threads, and reqwest reads the
/// proxy variables whenever a client is built), and the workspace forbids `unsafe_code`. A child
/// gets its environment before any of its threads exist. In the child (the variable is set), the
/// test runs in place.
fn with_one_second_rest_timeout<F: Future<Output = ()>>(name: &str, test: impl FnOnce() -> F) {
    if std::env::var(TIMEOUT_VAR).as_deref() == Ok("1") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(test());
        return;
    }
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(TIMEOUT_VAR, "1")
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    // A name that matched no test would pass with zero tests run: require this one to have run.
    assert!(
        output.status.success() && stdout.contains(&format!("test {name} ... ok")),
        "`{name}` failed with {TIMEOUT_VAR}=1 (status {})",
        output.status
    );
}

/// Without the attribute: the first call after the connection goes silent hangs for the SDK's
/// timeout and fails with `VtaError::Network`; calling again on the same client lands, on a new
/// connection.
#[test]
fn a_silent_keep_alive_connection_fails_the_unannotated_call() {
    with_one_second_rest_timeout(
        "a_silent_keep_alive_connection_fails_the_unannotated_call",
        || async {
            let server = Server::health([Reply::Healthy, Reply::Silent, Reply::Healthy]).await;
            let client = VtaClient::new(&server.url());
            assert_eq!(client.health().await.unwrap().status, "ok");
            assert_eq!((server.requests(), server.connections()), (1, 1));

            // Sent on the kept-alive connection; the server reads it and never answers.
            let error = client.health().await.unwrap_err();
            assert!(
                matches!(&error, VtaError::Network(e) if e.is_timeout()),
                "{error:?}"
            );
            assert_eq!((server.requests(), server.connections()), (2, 1));

            // The re-send the attribute automates: same client, a fresh connection, and it lands.
            assert_eq!(client.health().await.unwrap().status, "ok");
            assert_eq!((server.requests(), server.connections()), (3, 2));
        },
    );
}

/// With the attribute, the same call on the same client recovers by itself: attempt 1 times out
/// on the silent connection, attempt 2 lands on a new one 500 ms later.
#[test]
fn the_annotated_call_recovers_from_a_silent_keep_alive_connection() {
    with_one_second_rest_timeout(
        "the_annotated_call_recovers_from_a_silent_keep_alive_connection",
        || async {
            let server = Server::health([Reply::Healthy, Reply::Silent, Reply::Healthy]).await;
            let client = VtaClient::new(&server.url());
            assert_eq!(client.health().await.unwrap().status, "ok");
            assert_eq!((server.requests(), server.connections()), (1, 1));

            let attempts = AtomicU32::new(0);
            let health = health_as_the_seed_did(&client, &attempts).await.unwrap();
            assert_eq!(health.status, "ok");
            assert_eq!(attempts.load(Ordering::SeqCst), 2);
            // The silent request and the one that landed, on the old and a new connection.
            assert_eq!((server.requests(), server.connections()), (3, 2));
        },
    );
}

// ── The production policy against the real client ─────────────────────────────────────────────

/// Errors seen by the `on_retry` hooks below, by test.
static CUT_SHORT: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());
static RATE_LIMITED: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());

/// `GET /health`, each attempt cut after one second.
#[vta_retry(timeout = "1s", backoff = "1ms", on_retry = |error, retry| {
    CUT_SHORT.lock().unwrap().push((error.to_string(), retry.wait()));
})]
async fn health_cut_after_one_second(
    client: &VtaClient,
    attempts: &AtomicU32,
) -> Result<HealthResponse, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    client.health().await
}

/// The incident itself, at vta-sdk's default 30 s request timeout: the silent connection's
/// attempt is cut after one second instead (reported as a transient 504 that names the limit),
/// and the next attempt lands on a new connection. Unannotated, the same call waits the 30 s and
/// fails (`a_silent_keep_alive_connection_fails_the_unannotated_call` shows the failure at a one
/// second SDK timeout; `cargo run --example stale_session -- --without` at the default).
#[tokio::test]
async fn the_timeout_key_cuts_a_silent_connection_at_the_sdks_default_timeout() {
    assert!(
        std::env::var(TIMEOUT_VAR).is_err(),
        "this test is about the SDK's default timeout"
    );
    let server = Server::health([Reply::Healthy, Reply::Silent, Reply::Healthy]).await;
    let client = VtaClient::new(&server.url());
    assert_eq!(client.health().await.unwrap().status, "ok");

    let attempts = AtomicU32::new(0);
    let health = health_cut_after_one_second(&client, &attempts)
        .await
        .unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!((server.requests(), server.connections()), (3, 2));
    let retries = CUT_SHORT.lock().unwrap().clone();
    assert_eq!(retries.len(), 1);
    assert_eq!(
        retries[0].0,
        "server error (504): the attempt timed out after 1s (vta-retry timeout)"
    );
}

/// `GET /health`, retried after 1 ms, or after the server's hint when it gives a longer one.
#[vta_retry(attempts = 3, backoff = "1ms", on_retry = |error, retry| {
    RATE_LIMITED.lock().unwrap().push((error.to_string(), retry.wait()));
})]
async fn health_honouring_retry_after(
    client: &VtaClient,
    attempts: &AtomicU32,
) -> Result<HealthResponse, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    client.health().await
}

/// A 429 asking for two seconds is re-sent once, after the wait it asked for rather than the
/// policy's 1 ms. (vta-sdk turns `Retry-After: 2` into an instant, so the wait is the two seconds
/// less the moments since the header was read: more than one second is the server's hint, where
/// the backoff alone would be one millisecond.)
#[tokio::test]
async fn a_429_with_retry_after_is_re_sent_once_after_the_wait_it_asked_for() {
    let refusal = Reply::status(429, error_body("slow down"))
        .with_header("Retry-After", "2")
        .with_header("x-rate-limit-source", "vta");
    let server = Server::health([refusal, Reply::Healthy]).await;
    let client = VtaClient::new(&server.url());
    let attempts = AtomicU32::new(0);
    let health = health_honouring_retry_after(&client, &attempts)
        .await
        .unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!((attempts.load(Ordering::SeqCst), server.requests()), (2, 2));
    let retries = RATE_LIMITED.lock().unwrap().clone();
    assert_eq!(retries.len(), 1);
    assert!(
        retries[0].0.starts_with("rate limited by"),
        "{}",
        retries[0].0
    );
    let wait = retries[0].1;
    assert!(
        wait > Duration::from_secs(1) && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
}

// ── Every status the SDK maps ────────────────────────────────────────────────────────────────

/// A reply the server gives, and the error the SDK must make of it.
struct Case {
    reply: Reply,
    expected: &'static str,
    is_expected: fn(&VtaError) -> bool,
}

fn error_body(message: &str) -> String {
    format!(r#"{{"error":"{message}"}}"#)
}

/// Calls the annotated `health` against a server that answers `reply` to every attempt the
/// policy allows, and returns the error, the attempts made and the requests the server read.
async fn fail_every_attempt(reply: &Reply) -> (VtaError, u32, usize) {
    // Three attempts at most, so three copies; a fourth request would be answered 418.
    let server = Server::health(vec![reply.clone(); 3]).await;
    let client = VtaClient::new(&server.url());
    let attempts = AtomicU32::new(0);
    let error = health(&client, &attempts).await.unwrap_err();
    (error, attempts.load(Ordering::SeqCst), server.requests())
}

#[tokio::test]
async fn transient_statuses_are_retried_to_the_attempt_limit() {
    let cases = [
        Case {
            reply: Reply::status(500, error_body("boom")),
            expected: "Server { status: 500, body: \"boom\" }",
            is_expected: |e| matches!(e, VtaError::Server { status: 500, body } if body == "boom"),
        },
        Case {
            reply: Reply::status(502, error_body("upstream down")),
            expected: "Server { status: 502, .. }",
            is_expected: |e| matches!(e, VtaError::Server { status: 502, body } if body == "upstream down"),
        },
        Case {
            reply: Reply::status(503, error_body("busy")),
            expected: "Server { status: 503, .. }",
            is_expected: |e| matches!(e, VtaError::Server { status: 503, body } if body == "busy"),
        },
        Case {
            // A body that is not the VTA's `{"error": …}` shape, as a proxy would send.
            reply: Reply::status(504, "gateway timeout"),
            expected: "Server { status: 504, body: \"unknown error: gateway timeout\" }",
            is_expected: |e| {
                matches!(e, VtaError::Server { status: 504, body }
                    if body == "unknown error: gateway timeout")
            },
        },
        Case {
            reply: Reply::status(429, error_body("slow down"))
                .with_header("Retry-After", "1")
                .with_header("x-rate-limit-source", "vta"),
            expected: "RateLimited { limited_by: Vta, retry_after: Some(≤ 1 s), url: …/health }",
            is_expected: |e| {
                matches!(e, VtaError::RateLimited { limited_by: RateLimitSource::Vta,
                    retry_after: Some(_), url: Some(url), .. } if url.ends_with("/health"))
                    && e.retry_after()
                        .is_some_and(|wait| wait <= Duration::from_secs(1))
            },
        },
        Case {
            reply: Reply::status(429, ""),
            expected: "RateLimited { limited_by: Upstream, retry_after: None, .. }",
            is_expected: |e| {
                matches!(
                    e,
                    VtaError::RateLimited {
                        limited_by: RateLimitSource::Upstream,
                        retry_after: None,
                        ..
                    }
                )
            },
        },
        Case {
            reply: Reply::Close,
            expected: "Network (connection closed before a reply)",
            is_expected: |e| matches!(e, VtaError::Network(r) if !r.is_timeout() && !r.is_connect() && !r.is_status()),
        },
    ];
    for case in cases {
        let (error, attempts, requests) = fail_every_attempt(&case.reply).await;
        assert!(
            (case.is_expected)(&error),
            "{:?}: expected {}, got {error:?}",
            case.reply,
            case.expected
        );
        assert!(vta_retryable(&error), "{error:?}");
        assert_eq!(attempts, 3, "{:?} was not retried to the limit", case.reply);
        assert_eq!(requests, 3, "{:?}: requests the server read", case.reply);
    }
}

#[tokio::test]
async fn a_transient_failure_then_success_returns_the_success() {
    let script = [
        Reply::status(503, error_body("busy")),
        Reply::Close,
        Reply::Healthy,
    ];
    let server = Server::health(script).await;
    let client = VtaClient::new(&server.url());
    let attempts = AtomicU32::new(0);
    assert_eq!(health(&client, &attempts).await.unwrap().status, "ok");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(server.requests(), 3);
    // The 503 left its connection open for the second attempt; the close forced a new one.
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error_and_is_retried() {
    let client = VtaClient::new(&refused_url());
    let attempts = AtomicU32::new(0);
    let error = health(&client, &attempts).await.unwrap_err();
    assert!(
        matches!(&error, VtaError::Network(e) if e.is_connect()),
        "{error:?}"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn deterministic_statuses_return_after_one_request() {
    let cases = [
        Case {
            reply: Reply::status(400, error_body("label too long")),
            expected: "Validation(\"label too long\")",
            is_expected: |e| matches!(e, VtaError::Validation(m) if m == "label too long"),
        },
        Case {
            reply: Reply::status(401, error_body("token expired")),
            expected: "Auth(\"token expired\")",
            is_expected: |e| matches!(e, VtaError::Auth(m) if m == "token expired"),
        },
        Case {
            reply: Reply::status(403, error_body("not an admin")),
            expected: "Forbidden(\"not an admin\")",
            is_expected: |e| matches!(e, VtaError::Forbidden(m) if m == "not an admin"),
        },
        Case {
            reply: Reply::status(404, error_body("no such context")),
            expected: "NotFound(\"no such context\")",
            is_expected: |e| matches!(e, VtaError::NotFound(m) if m == "no such context"),
        },
        Case {
            // 409 keeps the whole body, so callers can read structured details from it.
            reply: Reply::status(409, error_body("key id already exists")),
            expected: "Conflict(<the whole body>)",
            is_expected: |e| matches!(e, VtaError::Conflict(m) if *m == error_body("key id already exists")),
        },
        Case {
            reply: Reply::status(410, error_body("carve-out consumed")),
            expected: "Gone(\"carve-out consumed\")",
            is_expected: |e| matches!(e, VtaError::Gone(m) if m == "carve-out consumed"),
        },
        Case {
            reply: Reply::status(422, error_body("bad curve")),
            expected: "Validation(\"bad curve\")",
            is_expected: |e| matches!(e, VtaError::Validation(m) if m == "bad curve"),
        },
        // The edges of the table: a 5xx that no re-send fixes, a rate limit that asks for
        // longer than the runtime will wait, and a status the SDK has no variant for.
        Case {
            reply: Reply::status(501, error_body("not implemented")),
            expected: "Server { status: 501, .. }",
            is_expected: |e| matches!(e, VtaError::Server { status: 501, .. }),
        },
        Case {
            reply: Reply::status(429, "").with_header("Retry-After", "120"),
            expected: "RateLimited { retry_after: Some(> 30 s), .. }",
            is_expected: |e| {
                matches!(e, VtaError::RateLimited { .. })
                    && e.retry_after()
                        .is_some_and(|wait| wait > Policy::DEFAULT_MAX_HINT)
            },
        },
        Case {
            reply: Reply::status(418, "teapot"),
            expected: "Other(\"418: unknown error: teapot\")",
            is_expected: |e| matches!(e, VtaError::Other(m) if m == "418: unknown error: teapot"),
        },
    ];
    for case in cases {
        // One failure, then successes: a retry would turn the error into `Ok`.
        let server = Server::health([case.reply.clone(), Reply::Healthy, Reply::Healthy]).await;
        let client = VtaClient::new(&server.url());
        let attempts = AtomicU32::new(0);
        let error = health(&client, &attempts).await.unwrap_err();
        assert!(
            (case.is_expected)(&error),
            "{:?}: expected {}, got {error:?}",
            case.reply,
            case.expected
        );
        // A rate limit is transient; what refuses the 120 s wait is the policy's `max_hint`.
        let transient = matches!(error, VtaError::RateLimited { .. });
        assert_eq!(vta_retryable(&error), transient, "{error:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), 1, "{error:?} was retried");
        assert_eq!(server.requests(), 1, "{error:?}: requests the server read");
    }
}

// ── Feature unification ──────────────────────────────────────────────────────────────────────

/// The `vta-sdk = …` line of a manifest's `wanted` section (`"[dependencies]"`, …).
fn vta_sdk_dependency(manifest: &'static str, wanted: &str) -> &'static str {
    let mut section = "";
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == wanted && line.starts_with("vta-sdk =") {
            return line;
        }
    }
    panic!("the manifest has no vta-sdk in {wanted}")
}

/// `VtaError::Network` from the real client is transient, although the runtime builds vta-sdk
/// without the `client` feature that defines it.
///
/// This is the configuration users run, and the only one in which the question arises. An
/// application depends on `vta-retry-runtime` (which asks for vta-sdk with
/// `default-features = false`, no `client`) and on vta-sdk with `client`, for the REST client.
/// Cargo builds vta-sdk once, with the union of the features, so the runtime's `vta_retryable` is
/// compiled against a `VtaError` that has a `Network` variant the runtime never asked for and
/// cannot name: naming it would not compile in the runtime's own build. A classifier that listed
/// the variants it knows and ended in `_ => false` would compile everywhere and call every REST
/// network failure (refused, reset, timed out: the seed's stale socket) permanent, in exactly
/// this build. The runtime's own tests build vta-sdk without `client` and cannot see it; this
/// crate enables `client` beside the runtime, as an application does.
#[tokio::test]
async fn a_real_network_error_is_transient_though_the_runtime_builds_vta_sdk_without_client() {
    // The configuration under test, read from the two manifests.
    let runtime = vta_sdk_dependency(
        include_str!("../vta-retry-runtime/Cargo.toml"),
        "[dependencies]",
    );
    assert!(runtime.contains("default-features = false"), "{runtime}");
    assert!(!runtime.contains("client"), "{runtime}");
    let tests = vta_sdk_dependency(include_str!("Cargo.toml"), "[dev-dependencies]");
    assert!(tests.contains(r#"features = ["client"]"#), "{tests}");

    // A real `Network` error (naming the variant compiles only because `client` is on here).
    let client = VtaClient::new(&refused_url());
    let attempts = AtomicU32::new(0);
    let error = health(&client, &attempts).await.unwrap_err();
    let VtaError::Network(cause) = &error else {
        panic!("a refused connection should be VtaError::Network, got {error:?}");
    };
    assert!(cause.is_connect(), "{cause:?}");
    assert!(error.is_network());
    assert!(vta_retryable(&error));
    assert!(error.is_transient());
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}
