//! One VTA idempotency key across every attempt of a call, read off the wire: vta-sdk's real
//! `VtaClient`, with a `did:key` identity, sends signed keyed Trust Tasks (`keys/create`) to a
//! loopback server that plays the VTA's keyed dispatch in miniature ([`vta::MiniVta`]): it
//! creates on a key's first request, answers a repeat of it from its record, and refuses a
//! different request under the same key.
//!
//! Reqwest runs on the real clock, so waits are kept at 1 ms (the function form's default policy
//! waits 500 ms once); nothing is timed.

use std::sync::Arc;
use std::sync::Mutex;

use serde_json::Value;
use tracing::Level;
use vta_retry_runtime::{IdempotencyKey, Policy, Retryable, context, vta_retry};
use vta_retry_tests::recorder::Recorder;
use vta_sdk::client::{CreateKeyResponse, VtaClient};
use vta_sdk::error::VtaError;

#[path = "support/vta.rs"]
mod vta;
use vta::{Log, MiniVta, create_key_request, document, idempotency_key, recording, still_running};

/// The keys the attempts' contexts reported, in order.
#[derive(Default)]
struct Seen(Mutex<Vec<IdempotencyKey>>);

impl Seen {
    fn attempt(&self) {
        let call = context().expect("inside an attempt");
        self.0.lock().unwrap().push(call.idempotency_key());
    }

    fn keys(&self) -> Vec<IdempotencyKey> {
        self.0.lock().unwrap().clone()
    }
}

/// The `idempotencyKey` of every request, in order.
fn wire_keys(log: &Log) -> Vec<Option<String>> {
    log.lock()
        .unwrap()
        .iter()
        .map(|request| idempotency_key(&document(request)).map(str::to_owned))
        .collect()
}

/// The key every request carried, asserting there was exactly one, on all of them.
fn one_key_on_every_request(log: &Log) -> String {
    let keys = wire_keys(log);
    let first = keys[0].clone().expect("the first attempt carries a key");
    assert!(
        keys.iter()
            .all(|key| key.as_deref() == Some(first.as_str())),
        "{keys:?}"
    );
    first
}

/// vta-sdk writes the key as `urn:uuid:<uuid>`; the context reports its UUID.
fn on_the_wire(key: IdempotencyKey) -> String {
    format!("urn:uuid:{key}")
}

#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_signing_key(
    client: &VtaClient,
    seen: &Seen,
) -> Result<CreateKeyResponse, VtaError> {
    seen.attempt();
    client.create_key(create_key_request("signing")).await
}

// ---- one key per call, on every attempt ----

/// The VTA creates the key and the reply is lost (the connection drops): the retry carries the
/// same key, the VTA answers it from its record, and one key exists.
#[tokio::test]
async fn after_a_lost_reply_the_retry_carries_the_same_key_and_nothing_is_created_twice() {
    let vta = MiniVta::new([true]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);
    let seen = Seen::default();

    let created = create_signing_key(&client, &seen)
        .await
        .expect("the retry lands");

    assert_eq!(created.key_id, "key-1");
    assert_eq!(
        log.lock().unwrap().len(),
        2,
        "the lost attempt and its retry"
    );
    assert_eq!(
        vta.created(),
        1,
        "the retry was recognised, not executed again"
    );
    let key = one_key_on_every_request(&log);
    // The context reports the key the VTA deduplicates on.
    let seen = seen.keys();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|k| on_the_wire(*k) == key),
        "{seen:?} {key}"
    );
}

/// The same, without the key: the retry is a new request to the VTA, and a second key is made.
#[vta_retry(attempts = 3, backoff = "1ms", vta_key = false)]
async fn create_signing_key_without_a_key(
    client: &VtaClient,
) -> Result<CreateKeyResponse, VtaError> {
    client.create_key(create_key_request("signing")).await
}

#[tokio::test]
async fn without_the_key_a_lost_reply_creates_twice() {
    let vta = MiniVta::new([true]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);

    create_signing_key_without_a_key(&client)
        .await
        .expect("the retry lands");

    assert_eq!(
        wire_keys(&log),
        [None, None],
        "vta_key = false sends no key"
    );
    assert_eq!(vta.created(), 2, "the duplicate the key exists to prevent");
}

/// `VtaError` through an alias: the attribute cannot see the type, and refuses to guess (the
/// build fails, saying so, without `vta_key`); said explicitly, the key is held as for
/// `Result<_, VtaError>`.
type VtaResult<T> = Result<T, VtaError>;

#[vta_retry(attempts = 3, backoff = "1ms", vta_key = true)]
async fn create_signing_key_through_an_alias(client: &VtaClient) -> VtaResult<CreateKeyResponse> {
    client.create_key(create_key_request("signing")).await
}

#[tokio::test]
async fn an_alias_of_vta_error_with_vta_key_holds_one_key_across_the_attempts() {
    let vta = MiniVta::new([true]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);

    create_signing_key_through_an_alias(&client)
        .await
        .expect("the retry lands");

    assert_eq!(log.lock().unwrap().len(), 2);
    one_key_on_every_request(&log);
    assert_eq!(vta.created(), 1, "the retry was recognised");
}

#[tokio::test]
async fn each_call_has_a_key_of_its_own() {
    let vta = MiniVta::new([]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);
    let seen = Seen::default();

    create_signing_key(&client, &seen).await.unwrap();
    create_signing_key(&client, &seen).await.unwrap();

    let keys = wire_keys(&log);
    assert!(keys.iter().all(Option::is_some), "{keys:?}");
    assert_ne!(keys[0], keys[1], "two calls, two operations, two keys");
    assert_eq!(vta.created(), 2);
    assert!(
        vta_sdk::idempotency::current_key().is_none(),
        "no key outside a call"
    );
}

// ---- the function form ----

#[tokio::test]
async fn the_helpers_shape_holds_one_key_across_its_attempts() {
    let vta = MiniVta::new([true]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);

    // Policy::DEFAULT: the retry comes 500 ms later.
    let created = vta_retry("create signing key", || {
        client.create_key(create_key_request("signing"))
    })
    .await
    .expect("the retry lands");

    assert_eq!(created.key_id, "key-1");
    assert_eq!(log.lock().unwrap().len(), 2);
    one_key_on_every_request(&log);
    assert_eq!(vta.created(), 1);
}

#[tokio::test]
async fn policy_retry_holds_one_key_and_its_closure_sees_it() {
    let vta = MiniVta::new([true, true]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);
    let seen = Seen::default();

    let created = Policy::DEFAULT
        .with_backoff(vta_retry_runtime::Backoff::constant(
            std::time::Duration::from_millis(1),
        ))
        .retry(|| {
            // Built inside the attempt: the request sees the attempt's context.
            seen.attempt();
            client.create_key(create_key_request("signing"))
        })
        .await
        .expect("the third attempt lands");

    assert_eq!(created.key_id, "key-1");
    let key = one_key_on_every_request(&log);
    assert_eq!(log.lock().unwrap().len(), 3);
    assert_eq!(vta.created(), 1);
    let seen = seen.keys();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|k| on_the_wire(*k) == key),
        "{seen:?} {key}"
    );
}

/// The function form over a client its closure borrows, spawned as a fleet's tasks are: the call
/// is `Send`, and holds its one key on the task it was spawned as.
#[tokio::test]
async fn a_spawned_function_form_call_holds_one_key() {
    let vta = MiniVta::new([true]).await;
    let (server, log) = vta.serve().await;
    let client = Arc::new(vta.client(&server));

    let spawned = tokio::spawn(async move {
        Policy::DEFAULT
            .with_backoff(vta_retry_runtime::Backoff::constant(
                std::time::Duration::from_millis(1),
            ))
            .retry(|| client.create_key(create_key_request("signing")))
            .await
    });

    assert_eq!(
        spawned.await.unwrap().expect("the retry lands").key_id,
        "key-1"
    );
    assert_eq!(log.lock().unwrap().len(), 2);
    one_key_on_every_request(&log);
    assert_eq!(vta.created(), 1);
}

#[tokio::test]
async fn the_function_form_can_leave_the_key_off() {
    let vta = MiniVta::new([true]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);

    Policy::DEFAULT
        .with_backoff(vta_retry_runtime::Backoff::constant(
            std::time::Duration::from_millis(1),
        ))
        .retry(|| client.create_key(create_key_request("signing")))
        .vta_key(false)
        .await
        .expect("the retry lands");

    assert_eq!(wire_keys(&log), [None, None]);
    assert_eq!(vta.created(), 2);
}

// ---- error types that wrap VtaError ----

#[vta_retry(attempts = 3, backoff = "1ms", vta_key = true)]
async fn create_with_anyhow(client: &VtaClient) -> anyhow::Result<CreateKeyResponse> {
    Ok(client.create_key(create_key_request("signing")).await?)
}

#[derive(Debug, thiserror::Error, Retryable)]
enum JoinError {
    #[error(transparent)]
    #[retryable(delegate)]
    Vta(#[from] VtaError),
    #[error("no persona to join with")]
    NoPersona,
}

#[vta_retry(attempts = 3, backoff = "1ms", vta_key = true)]
async fn create_for_join(
    client: &VtaClient,
    persona: Option<&str>,
) -> Result<CreateKeyResponse, JoinError> {
    persona.ok_or(JoinError::NoPersona)?;
    Ok(client.create_key(create_key_request("signing")).await?)
}

/// The same function over `anyhow::Error` or an enum of the application's, without
/// `vta_key = true`: no key.
#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_with_anyhow_unkeyed(client: &VtaClient) -> anyhow::Result<CreateKeyResponse> {
    Ok(client.create_key(create_key_request("signing")).await?)
}

#[tokio::test]
async fn an_error_type_that_wraps_vta_error_asks_for_the_key() {
    let vta = MiniVta::new([true, false, true]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);

    create_with_anyhow(&client)
        .await
        .expect("anyhow: the retry lands");
    let anyhow_key = one_key_on_every_request(&log);
    assert_eq!(vta.created(), 1);

    log.lock().unwrap().clear();
    create_for_join(&client, Some("alice"))
        .await
        .expect("enum: the retry lands");
    let enum_key = one_key_on_every_request(&log);
    assert_ne!(anyhow_key, enum_key);
    assert_eq!(vta.created(), 2);
    assert!(matches!(
        create_for_join(&client, None).await,
        Err(JoinError::NoPersona)
    ));

    log.lock().unwrap().clear();
    create_with_anyhow_unkeyed(&client).await.unwrap();
    assert_eq!(wire_keys(&log), [None]);
}

// ---- one retry owner ----

/// Inside `client.idempotent(..)`, vta-sdk owns retry and the key: a retried function makes one
/// attempt per call, under that key. Three requests reach the server, not nine.
#[tokio::test]
async fn inside_vta_sdks_idempotent_a_retried_function_makes_one_attempt_per_call() {
    let (server, log) = recording(still_running).await;
    let vta = MiniVta::new([]).await;
    let client = vta.client(&server);
    let seen = Seen::default();

    let error = client
        .idempotent(|| create_signing_key(&client, &seen))
        .await
        .expect_err("unavailable throughout");

    assert!(matches!(error, VtaError::Unavailable { .. }), "{error:?}");
    assert_eq!(
        log.lock().unwrap().len(),
        3,
        "idempotent's three attempts, one each"
    );
    let key = one_key_on_every_request(&log);
    let seen = seen.keys();
    assert!(
        seen.iter().all(|k| on_the_wire(*k) == key),
        "{seen:?} {key}"
    );

    // The same function on its own owns retry: three requests for one call.
    log.lock().unwrap().clear();
    create_signing_key(&client, &Seen::default())
        .await
        .expect_err("unavailable");
    assert_eq!(log.lock().unwrap().len(), 3);
}

/// A function without the key, inside `idempotent`, sees after its first failure that another
/// owner holds the key, and makes one attempt too.
#[tokio::test]
async fn inside_idempotent_an_unkeyed_function_makes_one_attempt_per_call() {
    let (server, log) = recording(still_running).await;
    let vta = MiniVta::new([]).await;
    let client = vta.client(&server);

    let error = client
        .idempotent(|| async {
            create_with_anyhow_unkeyed(&client)
                .await
                .map_err(|e| e.downcast::<VtaError>().expect("a VtaError"))
        })
        .await
        .expect_err("unavailable throughout");

    assert!(matches!(error, VtaError::Unavailable { .. }), "{error:?}");
    assert_eq!(log.lock().unwrap().len(), 3);
    one_key_on_every_request(&log);
}

// ---- one retried function per create ----

#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_two_keys(client: &VtaClient) -> Result<(String, String), VtaError> {
    let signing = client.create_key(create_key_request("signing")).await?;
    let update = client.create_key(create_key_request("update")).await?;
    Ok((signing.key_id, update.key_id))
}

/// A body that makes two keyed creates sends both under the call's one key: the VTA refuses
/// the second at once, every time. Not retried (a re-send is refused again), and said.
#[test]
fn two_creates_in_one_retried_function_are_refused_and_the_give_up_says_why() {
    let recorder = Arc::new(Recorder::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (error, requests, keys) = tracing::subscriber::with_default(Arc::clone(&recorder), || {
        runtime.block_on(async {
            let vta = MiniVta::new([]).await;
            let (server, log) = vta.serve().await;
            let client = vta.client(&server);
            let error = create_two_keys(&client).await.expect_err("refused");
            let keys = wire_keys(&log);
            (error, log.lock().unwrap().len(), keys)
        })
    });

    assert_eq!(requests, 2, "the first create, and the second, refused");
    assert_eq!(keys[0], keys[1], "both under the call's one key");
    assert!(
        matches!(&error, VtaError::Rejected { code, .. } if code == "taskFailed"),
        "{error:?}"
    );
    assert!(error.idempotency_key_reused());
    assert!(!error.is_transient());
    let said: Vec<_> = recorder
        .events_at_least(Level::WARN)
        .into_iter()
        .filter(|event| event.field("reason") == "idempotency key reused")
        .collect();
    assert_eq!(said.len(), 1, "{:?}", recorder.events());
    assert_eq!(said[0].field("function"), "create_two_keys");
    assert!(
        said[0]
            .field("message")
            .contains("one retried function per create"),
        "{}",
        said[0].field("message")
    );
}

/// The fix: one retried function per create, each with a key of its own.
#[vta_retry(attempts = 3, backoff = "1ms")]
async fn create_key_labelled(client: &VtaClient, label: &str) -> Result<String, VtaError> {
    Ok(client.create_key(create_key_request(label)).await?.key_id)
}

#[tokio::test]
async fn one_retried_function_per_create_is_one_key_per_create() {
    let vta = MiniVta::new([]).await;
    let (server, log) = vta.serve().await;
    let client = vta.client(&server);

    create_key_labelled(&client, "signing").await.unwrap();
    create_key_labelled(&client, "update").await.unwrap();

    let keys = wire_keys(&log);
    assert!(keys.iter().all(Option::is_some));
    assert_ne!(keys[0], keys[1]);
    assert_eq!(vta.created(), 2);
    let documents: Vec<Value> = log.lock().unwrap().iter().map(document).collect();
    assert_eq!(documents[1]["payload"]["label"], "update");
}
