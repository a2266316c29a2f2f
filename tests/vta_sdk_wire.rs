//! What vta-sdk's real `VtaClient`, with a `did:key` identity, puts on the wire when it POSTs
//! keyed Trust Tasks over REST to the loopback server, and what it makes of the VTA's answers:
//! the facts the VTA-key tests (`vta_key.rs`) stand on, each pinned here against the SDK itself.
//!
//! What it pins, all read off vta-sdk 0.78.0:
//!
//! - `VtaClient::new(url).with_identity(ClientIdentity::did_key(client_did, key, vta_did))` signs
//!   every document and sends it as `POST <url>/trust-tasks` with no bearer token and no login
//!   round trip (no credential is stored, so `ensure_token_valid` does nothing).
//! - Inside `client.idempotent(..)` a keyed task (`keys/create/0.1`, `vta/contexts/create/1.0`)
//!   carries a top-level `idempotencyKey` (`urn:uuid:…`), the same on every attempt, and
//!   `vta_sdk::idempotency::current_key()` returns it inside the scope.
//! - A success reply is a `#response` document signed by the VTA's DID (`did:key` verifies
//!   locally); an error reply is a `trust-task-error` document, read unverified.
//! - The VTA's refusal of one key reused for a different request (vta-service
//!   `trust_tasks/idempotency.rs`, `ClaimOutcome::Conflict`: HTTP 422, `taskFailed`) becomes
//!   `VtaError::Rejected { code: "taskFailed", .. }`, recognisable by its message and
//!   `details.idempotencyKey`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::{Value, json};
use vta_retry_tests::server::Reply;
use vta_sdk::client::CreateContextRequest;
use vta_sdk::error::{RateLimitSource, VtaError};
use vta_sdk::trust_task_proof::{TrustTaskVmResolver, verify_trust_task_proof_value};
use vta_sdk::trust_tasks::{TASK_CONTEXTS_CREATE_1_0, TASK_KEYS_CREATE_0_1};

#[path = "support/vta.rs"]
mod vta;
use vta::{
    KEY_REUSE_DETAIL, KEY_REUSE_MESSAGE, Parties, create_key_request, document, error_document,
    idempotency_key, key_record, recording, scripted,
};

// ── 1. Same key on every attempt ─────────────────────────────────────────────────────────────

/// 503 once, then success: `idempotent` retries, and both POSTs carry one `idempotencyKey`,
/// the one `current_key()` returns inside the scope.
#[tokio::test]
async fn idempotent_create_key_sends_one_key_on_every_attempt() {
    let parties = Parties::new();
    let ok = parties
        .signed_response(TASK_KEYS_CREATE_0_1, key_record("key-1", "signing"))
        .await;
    let busy = Reply::status(503, r#"{"error":"busy"}"#).with_header("Retry-After", "1");
    let (server, log) = scripted([busy, ok]).await;
    let client = parties.client(&server.url());

    let in_scope = Mutex::new(Vec::new());
    assert_eq!(vta_sdk::idempotency::current_key(), None);
    let created = client
        .idempotent(|| {
            in_scope
                .lock()
                .unwrap()
                .push(vta_sdk::idempotency::current_key());
            client.create_key(create_key_request("signing"))
        })
        .await
        .expect("the retry lands");
    assert_eq!(created.key_id, "key-1");
    assert_eq!(created.label.as_deref(), Some("signing"));

    let requests = log.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/trust-tasks");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("authorization"), None, "no bearer token");
    }
    let (first, second) = (document(&requests[0]), document(&requests[1]));
    let key = idempotency_key(&first).expect("a keyed task carries a key");
    assert!(key.starts_with("urn:uuid:") && key.len() == 45, "{key}");
    assert_eq!(idempotency_key(&second), Some(key), "the retry reuses it");
    assert_ne!(first["id"], second["id"], "envelope ids are per attempt");
    let in_scope = in_scope.into_inner().unwrap();
    assert_eq!(in_scope, vec![Some(key.to_owned()), Some(key.to_owned())]);

    for doc in [&first, &second] {
        assert_eq!(doc["type"], TASK_KEYS_CREATE_0_1);
        assert_eq!(doc["issuer"], parties.client_did.as_str());
        assert_eq!(doc["recipient"], parties.vta_did.as_str());
        assert_eq!(
            doc["payload"],
            json!({ "keyType": "ed25519", "label": "signing" })
        );
        // Signed by the client's did:key, over a document that includes the key.
        let signer = verify_trust_task_proof_value(doc, &TrustTaskVmResolver::did_key_only())
            .await
            .expect("the proof verifies");
        assert_eq!(signer, parties.client_did);
    }
    println!(
        "request document:\n{}",
        serde_json::to_string_pretty(&first).unwrap()
    );
}

/// Another keyed create, `vta/contexts/create/1.0`, the same way; two `idempotent` calls are
/// two operations, with two keys.
#[tokio::test]
async fn idempotent_create_context_is_keyed_too() {
    let parties = Parties::new();
    let context = json!({
        "id": "acme",
        "name": "Acme",
        "basePath": "m/26'/2'/0'",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    });
    let ok = parties
        .signed_response(TASK_CONTEXTS_CREATE_1_0, context)
        .await;
    let (server, log) = scripted([ok.clone(), ok]).await;
    let client = parties.client(&server.url());

    for _ in 0..2 {
        let created = client
            .idempotent(|| client.create_context(CreateContextRequest::new("acme", "Acme")))
            .await
            .expect("created");
        assert_eq!(
            (created.id.as_str(), created.base_path.as_str()),
            ("acme", "m/26'/2'/0'")
        );
    }
    let requests = log.lock().unwrap().clone();
    let docs: Vec<Value> = requests.iter().map(document).collect();
    assert_eq!(requests[0].path, "/trust-tasks");
    assert_eq!(docs[0]["type"], TASK_CONTEXTS_CREATE_1_0);
    assert_eq!(docs[0]["payload"], json!({ "id": "acme", "name": "Acme" }));
    let keys: Vec<_> = docs.iter().map(|d| idempotency_key(d).unwrap()).collect();
    assert_ne!(keys[0], keys[1], "one key per logical operation");
}

// ── 2. The key-reuse refusal ─────────────────────────────────────────────────────────────────

/// vta-service's dispatch policy for keyed tasks, in miniature: the first request on a key runs;
/// the same task and payload again is answered with the recorded response; a different one
/// under the same key is refused `taskFailed` (HTTP 422) with the key in `details`.
#[tokio::test]
async fn one_key_reused_for_a_different_request_is_rejected_task_failed() {
    let parties = Parties::new();
    let ok = parties
        .signed_response(TASK_KEYS_CREATE_0_1, key_record("key-1", "signing"))
        .await;
    let store: Mutex<HashMap<String, String>> = Mutex::default();
    let (server, log) = recording(move |request| {
        let doc = document(request);
        let key = idempotency_key(&doc).expect("keyed").to_owned();
        let fingerprint = format!("{}\0{}", doc["type"], doc["payload"]);
        let mut store = store.lock().unwrap();
        match store.get(&key) {
            None => {
                store.insert(key, fingerprint);
                ok.clone()
            }
            Some(first) if *first == fingerprint => ok.clone(),
            Some(_) => Reply::status(
                422,
                error_document(
                    request,
                    json!({
                        "code": "taskFailed",
                        "inResponseTo": { "type": doc["type"], "id": doc["id"] },
                        "message": KEY_REUSE_MESSAGE,
                        "retryable": false,
                        "details": {
                            "idempotencyKey": key,
                            "task": doc["type"],
                            "reason": KEY_REUSE_DETAIL,
                        },
                    }),
                ),
            ),
        }
    })
    .await;
    let client = parties.client(&server.url());

    // One scope, three creates: the key is the scope's, not the call's.
    let error = client
        .idempotent(|| async {
            let first = client.create_key(create_key_request("signing")).await?;
            let again = client.create_key(create_key_request("signing")).await?;
            assert_eq!(
                first.key_id, again.key_id,
                "same request: the recorded answer"
            );
            client.create_key(create_key_request("other")).await
        })
        .await
        .expect_err("a different request under the same key is refused");

    let key = {
        let requests = log.lock().unwrap();
        assert_eq!(requests.len(), 3, "refused once, and not retried");
        idempotency_key(&document(&requests[2])).unwrap().to_owned()
    };
    println!("key reuse: {error:?}\n  display: {error}");
    let VtaError::Rejected {
        code,
        message,
        details,
    } = &error
    else {
        panic!("expected Rejected, got {error:?}");
    };
    assert_eq!(code, "taskFailed");
    assert_eq!(message, KEY_REUSE_MESSAGE);
    let details = details.as_ref().expect("details");
    assert_eq!(details["idempotencyKey"], key.as_str());
    assert_eq!(details["task"], TASK_KEYS_CREATE_0_1);
    assert_eq!(details["reason"], KEY_REUSE_DETAIL);
    assert_eq!(
        error.to_string(),
        format!("trust task failed [taskFailed]: {KEY_REUSE_MESSAGE}")
    );
    assert!(!vta_sdk::idempotency::is_transient(&error));
}

// ── 3. How REST error responses map ──────────────────────────────────────────────────────────

/// `create_key` outside a scope against plain error bodies and the VTA's own documents.
#[tokio::test]
async fn rest_error_responses_map_to_these_variants() {
    let parties = Parties::new();
    let unavailable_until = "2030-01-01T00:00:00Z";
    let queue = Mutex::new(VecDeque::from([
        Reply::status(409, r#"{"error":"key exists"}"#),
        Reply::status(422, r#"{"error":"bad member"}"#),
        Reply::status(503, r#"{"error":"busy"}"#).with_header("Retry-After", "7"),
        Reply::status(429, r#"{"error":"slow down"}"#)
            .with_header("Retry-After", "7")
            .with_header("x-rate-limit-source", "vta"),
    ]));
    let (server, _log) = recording(move |request| {
        if let Some(reply) = queue.lock().unwrap().pop_front() {
            return reply;
        }
        // Then the VTA's in-flight answer: `unavailable`, 503, the hint in the document.
        vta::unavailable(request, "temporarily unavailable", unavailable_until)
    })
    .await;
    let client = parties.client(&server.url());
    let mut outcome = Vec::new();
    for _ in 0..5 {
        let error = client
            .create_key(create_key_request("signing"))
            .await
            .expect_err("refused");
        println!("{error:?}");
        outcome.push(error);
    }

    assert!(matches!(&outcome[0], VtaError::Conflict(body) if body == r#"{"error":"key exists"}"#));
    assert!(matches!(&outcome[1], VtaError::Validation(body) if body == "bad member"));
    // A 503's Retry-After header is not read: only the status and the `error` field.
    assert!(
        matches!(&outcome[2], VtaError::Server { status: 503, body } if body == "busy"),
        "{:?}",
        outcome[2]
    );
    let VtaError::RateLimited {
        limited_by,
        retry_after,
        limiter,
        url,
    } = &outcome[3]
    else {
        panic!("{:?}", outcome[3]);
    };
    assert_eq!(*limited_by, RateLimitSource::Vta);
    let wait = *retry_after.as_ref().expect("Retry-After read") - chrono::Utc::now();
    assert!((5..=7).contains(&wait.num_seconds()), "{wait}");
    assert_eq!(*limiter, None);
    assert_eq!(
        url.as_deref(),
        Some(format!("{}/trust-tasks", server.url()).as_str())
    );
    let VtaError::Unavailable { retry_after } = &outcome[4] else {
        panic!("{:?}", outcome[4]);
    };
    assert_eq!(
        retry_after.map(|t| t.to_rfc3339()),
        Some("2030-01-01T00:00:00+00:00".to_owned())
    );
}
