//! The lost-reply hazard: the server created the record and only the reply was lost, so a retry
//! that the server cannot recognise creates a second one.
//!
//! `POST /keys` on the loopback server ([`KeyStore`]) processes each create, deduplicating on an
//! `Idempotency-Key` header, and then closes the connection without replying to the first
//! request. The client sees `VtaError::Network`, which is transient, and the attribute retries.
//! Only a key made once, outside the retried function, makes that retry safe.

use std::sync::atomic::{AtomicU32, Ordering};

use vta_retry_runtime::vta_retry;
use vta_retry_tests::server::{KeyStore, Server};
use vta_sdk::error::VtaError;

/// The create: a minimal REST call, with vta-sdk's own error mapping.
async fn post_key(
    http: &reqwest::Client,
    url: &str,
    idempotency_key: Option<&str>,
    label: &str,
) -> Result<String, VtaError> {
    let mut request = http
        .post(format!("{url}/keys"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"label":"{label}"}}"#));
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    // A dropped reply is a `reqwest::Error`, so `VtaError::Network`, as in the SDK.
    let response = request.send().await?;
    if !response.status().is_success() {
        return Err(VtaError::from_response(response).await);
    }
    let body: serde_json::Value = serde_json::from_str(&response.text().await?)?;
    body["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| VtaError::Protocol(format!("no id in {body}")))
}

/// No protection: the request carries nothing the server could recognise a repeat by.
#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_key_unkeyed(
    http: &reqwest::Client,
    url: &str,
    label: &str,
    attempts: &AtomicU32,
) -> Result<String, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    post_key(http, url, None, label).await
}

/// The subtle form of no protection: a key, but made inside the retried body, so each attempt
/// makes a new one and the server sees unrelated requests.
#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_key_keyed_per_attempt(
    http: &reqwest::Client,
    url: &str,
    label: &str,
    attempts: &AtomicU32,
) -> Result<String, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    let key = vta_sdk::idempotency::new_key();
    post_key(http, url, Some(&key), label).await
}

/// The documented pattern: the caller makes the key once and passes it in, so every attempt
/// carries the same one.
#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_key(
    http: &reqwest::Client,
    url: &str,
    idempotency_key: &str,
    label: &str,
    attempts: &AtomicU32,
) -> Result<String, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    post_key(http, url, Some(idempotency_key), label).await
}

#[tokio::test]
async fn a_retried_create_without_a_key_creates_a_duplicate() {
    let store = KeyStore::dropping_first_replies(1);
    let server = Server::keys(store.clone()).await;
    let http = reqwest::Client::new();
    let attempts = AtomicU32::new(0);

    let id = create_key_unkeyed(&http, &server.url(), "signing", &attempts)
        .await
        .unwrap();

    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests(), 2);
    let store = store.lock().unwrap();
    assert_eq!(store.records().len(), 2, "{:?}", store.records());
    // The caller holds the duplicate; the first record exists and nobody knows its id.
    assert_eq!(id, "key-2");
    assert_eq!(store.records()[0].body, store.records()[1].body);
}

#[tokio::test]
async fn a_key_made_inside_the_retried_function_does_not_help() {
    let store = KeyStore::dropping_first_replies(1);
    let server = Server::keys(store.clone()).await;
    let http = reqwest::Client::new();
    let attempts = AtomicU32::new(0);

    let id = create_key_keyed_per_attempt(&http, &server.url(), "signing", &attempts)
        .await
        .unwrap();

    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests(), 2);
    let store = store.lock().unwrap();
    assert_eq!(store.records().len(), 2, "{:?}", store.records());
    assert_eq!(id, "key-2");
    let [Some(first), Some(second)] = store.keys_seen() else {
        panic!("both attempts carry a key: {:?}", store.keys_seen());
    };
    assert_ne!(first, second, "each attempt made its own key");
}

#[tokio::test]
async fn a_key_made_once_and_passed_in_makes_no_duplicate() {
    let store = KeyStore::dropping_first_replies(1);
    let server = Server::keys(store.clone()).await;
    let http = reqwest::Client::new();
    let attempts = AtomicU32::new(0);

    let key = vta_sdk::idempotency::new_key();
    let id = create_key(&http, &server.url(), &key, "signing", &attempts)
        .await
        .unwrap();

    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests(), 2);
    let store = store.lock().unwrap();
    assert_eq!(store.records().len(), 1, "{:?}", store.records());
    // The second reply names the record the first request created.
    assert_eq!(id, "key-1");
    assert_eq!(store.records()[0].idempotency_key.as_deref(), Some(&*key));
    assert_eq!(store.keys_seen(), [Some(key.clone()), Some(key)]);
}

/// The key the call context holds: made inside the retried function, and still the same on
/// every attempt, because it belongs to the call, not to the attempt.
#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_key_with_the_calls_key(
    http: &reqwest::Client,
    url: &str,
    label: &str,
    attempts: &AtomicU32,
) -> Result<String, VtaError> {
    attempts.fetch_add(1, Ordering::SeqCst);
    let key = vta_retry_runtime::context()
        .expect("inside an attempt")
        .idempotency_key()
        .to_string();
    post_key(http, url, Some(&key), label).await
}

#[tokio::test]
async fn the_call_contexts_key_makes_no_duplicate() {
    let store = KeyStore::dropping_first_replies(1);
    let server = Server::keys(store.clone()).await;
    let http = reqwest::Client::new();
    let attempts = AtomicU32::new(0);

    let id = create_key_with_the_calls_key(&http, &server.url(), "signing", &attempts)
        .await
        .unwrap();

    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests(), 2);
    let store = store.lock().unwrap();
    assert_eq!(store.records().len(), 1, "{:?}", store.records());
    assert_eq!(id, "key-1");
    let [Some(first), Some(second)] = store.keys_seen() else {
        panic!("both attempts carry a key: {:?}", store.keys_seen());
    };
    assert_eq!(first, second, "one key for the call");
    assert!(uuid_v4(first), "{first}");
}

/// Three layers of annotated functions: the create at the bottom reads the outermost call's
/// key, so the retry the outermost call makes is recognised too.
#[vta_retry(attempts = 3, backoff = "1ms")]
async fn join_community(
    http: &reqwest::Client,
    url: &str,
    attempts: &AtomicU32,
) -> Result<String, VtaError> {
    create_persona(http, url, attempts).await
}

#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_persona(
    http: &reqwest::Client,
    url: &str,
    attempts: &AtomicU32,
) -> Result<String, VtaError> {
    create_key_with_the_calls_key(http, url, "persona", attempts).await
}

#[tokio::test]
async fn three_layers_down_the_key_is_still_the_outer_calls() {
    let store = KeyStore::dropping_first_replies(1);
    let server = Server::keys(store.clone()).await;
    let http = reqwest::Client::new();
    let attempts = AtomicU32::new(0);

    let id = join_community(&http, &server.url(), &attempts)
        .await
        .unwrap();

    // One retry owner: the innermost create was attempted twice in all, not 2 × 2 × 2 times.
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests(), 2);
    let store = store.lock().unwrap();
    assert_eq!(store.records().len(), 1, "{:?}", store.records());
    assert_eq!(id, "key-1");
}

/// Lowercase, hyphenated, version 4, RFC 4122 variant.
fn uuid_v4(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lengths == [8, 4, 4, 4, 12]
        && text
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b'])
}
