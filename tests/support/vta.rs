//! Fixtures for tests that drive vta-sdk's real `VtaClient` with a `did:key` identity against
//! the loopback server: keyed Trust Tasks are signed and POSTed to `/trust-tasks`, and the
//! server reads the documents the client puts on the wire.
//!
//! What they rest on, read off vta-sdk 0.78.0 (see `vta_sdk_wire.rs`, which pins each fact):
//!
//! - `VtaClient::new(url).with_identity(ClientIdentity::did_key(client_did, key, vta_did))` signs
//!   every document and sends it as `POST <url>/trust-tasks`, with no token and no login.
//! - Inside a key scope, a keyed task (`keys/create/0.1`) carries a top-level `idempotencyKey`
//!   (`urn:uuid:…`).
//! - A success reply is a `#response` document signed by the VTA's DID; an error reply is a
//!   `trust-task-error` document.
//! - The VTA refuses one key reused for a different request (vta-service
//!   `trust_tasks/idempotency.rs`) with HTTP 422, `taskFailed`, the key in `details`.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use vta_retry_tests::server::{Reply, Request, Server};
use vta_sdk::client::{ClientIdentity, CreateKeyRequest, GetKeySecretResponse, VtaClient};
use vta_sdk::keys::KeyType;
use vta_sdk::trust_tasks::TASK_KEYS_CREATE_0_1;

/// The `type` of every error document trust-tasks-rs 0.36 emits.
pub const ERROR_TYPE: &str = "https://trusttasks.org/spec/trust-task-error/0.6";

/// The `message` vta-service puts on the key-reuse refusal: `RejectReason::TaskFailed`'s
/// `Display`, `"task failed: {reason}"`, over the reason its idempotency layer gives.
pub const KEY_REUSE_MESSAGE: &str = "task failed: idempotency key reused for a different request";

/// The refusal's `details.reason`, verbatim from vta-service.
pub const KEY_REUSE_DETAIL: &str = "this key was already used for a different task or payload; \
     answering it from the first request's result would answer the wrong question. Use a fresh \
     key, or re-send the original request unchanged";

// ── Identity ──────────────────────────────────────────────────────────────────────────────────

/// A fresh Ed25519 `did:key` and its private key (multicodec `ed25519-priv`, base58btc), made
/// with vta-sdk's public API only.
///
/// With just the `client` feature vta-sdk has no "generate a did:key" function (that is
/// `provision_client::EphemeralSetupKey::generate`, feature `provision-client`, or
/// `sealed_transfer::generate_ed25519_keypair`, feature `sealed-transfer`), and the tests crate
/// has no Ed25519 crate of its own. So: 32 random bytes from two `idempotency::new_key()` UUIDs,
/// prefixed `0x80 0x26` (ed25519-priv) and encoded base16 (`f…`); `did_key::secret_from_key_response`
/// turns that into the SDK's signing `Secret`, which derives the public key and re-encodes both.
pub fn generate_did_key() -> (String, String) {
    let mut bytes = vec![0x80, 0x26];
    while bytes.len() < 34 {
        let uuid = vta_sdk::idempotency::new_key();
        let hex = uuid.trim_start_matches("urn:uuid:").replace('-', "");
        for i in (0..hex.len()).step_by(2) {
            bytes.push(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"));
        }
    }
    bytes.truncate(34);
    let base16: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let secret = vta_sdk::did_key::secret_from_key_response(&GetKeySecretResponse {
        key_id: "probe".into(),
        key_type: KeyType::Ed25519,
        public_key_multibase: String::new(),
        private_key_multibase: format!("f{base16}"),
    })
    .expect("an Ed25519 secret");
    let public = secret.get_public_keymultibase().expect("its public key");
    let private = secret.get_private_keymultibase().expect("its private key");
    assert!(public.starts_with("z6Mk"), "{public}");
    (format!("did:key:{public}"), private)
}

/// The client's identity and the VTA's, both `did:key`.
pub struct Parties {
    pub client_did: String,
    pub client_key: String,
    pub vta_did: String,
    pub vta_key: String,
}

impl Parties {
    pub fn new() -> Self {
        let (client_did, client_key) = generate_did_key();
        let (vta_did, vta_key) = generate_did_key();
        Self {
            client_did,
            client_key,
            vta_did,
            vta_key,
        }
    }

    /// The REST client: no token, no login, a `did:key` identity.
    pub fn client(&self, url: &str) -> VtaClient {
        VtaClient::new(url).with_identity(ClientIdentity::did_key(
            self.client_did.clone(),
            self.client_key.clone(),
            self.vta_did.clone(),
        ))
    }

    /// A `#response` document for `task` carrying `payload`, signed by the VTA, as the body of a
    /// `200`.
    pub async fn signed_response(&self, task: &str, payload: Value) -> Reply {
        let body = vta_sdk::trust_task_sign::build_signed(
            &format!("{task}#response"),
            payload,
            &self.vta_did,
            &self.vta_key,
            &self.client_did,
        )
        .await
        .expect("sign the response");
        Reply::status(200, body)
    }
}

/// `keys/create/0.1`'s response payload: the record under `key`.
pub fn key_record(key_id: &str, label: &str) -> Value {
    json!({ "key": {
        "keyId": key_id,
        "keyType": "ed25519",
        "derivationPath": "m/44'/0'/0'",
        "publicKey": "z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
        "status": "active",
        "label": label,
        "origin": "derived",
        "createdAt": "2026-01-01T00:00:00Z",
    }})
}

pub fn create_key_request(label: &str) -> CreateKeyRequest {
    let mut request = CreateKeyRequest::new(KeyType::Ed25519);
    request.label = Some(label.to_owned());
    request
}

// ── The loopback server, recording ───────────────────────────────────────────────────────────

/// Every request the server read, in order.
pub type Log = Arc<Mutex<Vec<Request>>>;

/// A server that records each request and answers it with `answer`.
pub async fn recording(
    answer: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> (Server, Log) {
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    let server = Server::start(move |request| {
        seen.lock().unwrap().push(request.clone());
        answer(request)
    })
    .await;
    (server, log)
}

/// A server answering with `script`, one reply per request.
pub async fn scripted(script: impl IntoIterator<Item = Reply>) -> (Server, Log) {
    let script = Mutex::new(script.into_iter().collect::<VecDeque<_>>());
    recording(move |_| {
        script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Reply::status(418, "script exhausted"))
    })
    .await
}

pub fn document(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON document")
}

pub fn idempotency_key(doc: &Value) -> Option<&str> {
    doc.get("idempotencyKey").and_then(Value::as_str)
}

/// The `trust-task-error` document vta-service answers `request` with for `payload`.
pub fn error_document(request: &Request, payload: Value) -> String {
    let doc = document(request);
    json!({
        "id": vta_sdk::idempotency::new_key(),
        "threadId": doc["id"],
        "type": ERROR_TYPE,
        "issuer": doc["recipient"],
        "recipient": doc["issuer"],
        "issuedAt": "2026-01-01T00:00:00Z",
        "payload": payload,
    })
    .to_string()
}

/// The VTA's answer while an earlier attempt under the key is still running, with a hint already
/// past: vta-sdk's `idempotent` asks again at once.
pub fn still_running(request: &Request) -> Reply {
    unavailable(
        request,
        "an earlier attempt under this key is still running",
        "2020-01-01T00:00:00Z",
    )
}

/// The VTA's `unavailable` answer, 503, saying `message`, with its hint in the document: come
/// back at `retry_after` (an RFC 3339 time).
pub fn unavailable(request: &Request, message: &str, retry_after: &str) -> Reply {
    Reply::status(
        503,
        error_document(
            request,
            json!({
                "code": "unavailable",
                "message": message,
                "retryable": true,
                "retryAfter": retry_after,
            }),
        ),
    )
}

/// The VTA's keyed dispatch in miniature, over `keys/create`: the first request under a key
/// creates a key record and is answered; the same task and payload again under that key is
/// answered with the recorded response, creating nothing; a different one under that key is
/// refused `taskFailed` (HTTP 422) with the key in `details`. A request without a key always
/// creates. `lose_replies` says, per request in order, whether to drop the connection after
/// creating instead of answering: the lost reply.
pub struct MiniVta {
    parties: Parties,
    answer: Reply,
    state: Mutex<MiniState>,
}

#[derive(Default)]
struct MiniState {
    by_key: HashMap<String, String>,
    created: usize,
    lose_replies: VecDeque<bool>,
}

impl MiniVta {
    /// A VTA whose every create answers with one recorded key.
    pub async fn new(lose_replies: impl IntoIterator<Item = bool>) -> Arc<Self> {
        let parties = Parties::new();
        let answer = parties
            .signed_response(TASK_KEYS_CREATE_0_1, key_record("key-1", "signing"))
            .await;
        Arc::new(Self {
            parties,
            answer,
            state: Mutex::new(MiniState {
                lose_replies: lose_replies.into_iter().collect(),
                ..MiniState::default()
            }),
        })
    }

    /// The client, with the parties' identities.
    pub fn client(&self, server: &Server) -> VtaClient {
        self.parties.client(&server.url())
    }

    /// Starts a server answering as this VTA, recording every request.
    pub async fn serve(self: &Arc<Self>) -> (Server, Log) {
        let vta = Arc::clone(self);
        recording(move |request| vta.answer(request)).await
    }

    /// Key records created.
    pub fn created(&self) -> usize {
        self.state.lock().unwrap().created
    }

    fn answer(&self, request: &Request) -> Reply {
        let doc = document(request);
        let fingerprint = format!("{}\0{}", doc["type"], doc["payload"]);
        let mut state = self.state.lock().unwrap();
        let lose = state.lose_replies.pop_front().unwrap_or(false);
        let Some(key) = idempotency_key(&doc).map(str::to_owned) else {
            state.created += 1;
            return if lose {
                Reply::Close
            } else {
                self.answer.clone()
            };
        };
        match state.by_key.get(&key) {
            None => {
                state.by_key.insert(key, fingerprint);
                state.created += 1;
            }
            Some(first) if *first == fingerprint => {}
            Some(_) => {
                return Reply::status(
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
                );
            }
        }
        if lose {
            Reply::Close
        } else {
            self.answer.clone()
        }
    }
}
