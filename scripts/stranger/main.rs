//! A new project's first use of vta-retry, from the packaged crates (see `scripts/stranger.sh`):
//! its own error type, `anyhow`, and `reqwest`, each retried as the README shows.

use std::sync::atomic::{AtomicU32, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vta_retry_runtime::{Retryable, vta_retry};

/// The project's own error, classified by the derive beside thiserror.
#[derive(Debug, thiserror::Error, Retryable)]
enum StoreError {
    #[error("the store is busy")]
    #[retryable(transient)]
    Busy,
    #[error("no such record: {0}")]
    NotFound(String),
}

static STORE_CALLS: AtomicU32 = AtomicU32::new(0);

#[vta_retry(attempts = 3, backoff = "10ms")]
async fn read_record(id: &str) -> Result<String, StoreError> {
    match STORE_CALLS.fetch_add(1, Ordering::SeqCst) {
        0 => Err(StoreError::Busy),
        _ if id == "missing" => Err(StoreError::NotFound(id.to_owned())),
        _ => Ok(format!("record {id}")),
    }
}

static ANYHOW_CALLS: AtomicU32 = AtomicU32::new(0);

#[vta_retry(attempts = 3, backoff = "10ms")]
async fn with_anyhow() -> anyhow::Result<u32> {
    if ANYHOW_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        return Err(anyhow::Error::from(reset).context("talking to the store"));
    }
    Ok(7)
}

#[vta_retry(attempts = 3, backoff = "10ms")]
async fn fetch(http: &reqwest::Client, url: &str, calls: &AtomicU32) -> Result<String, reqwest::Error> {
    calls.fetch_add(1, Ordering::SeqCst);
    http.get(url).send().await?.error_for_status()?.text().await
}

/// Answers `503` to the first request and `200 ok` to the rest, one request per connection.
async fn serve(listener: tokio::net::TcpListener) {
    let mut first = true;
    while let Ok((mut socket, _)) = listener.accept().await {
        let mut buffer = [0u8; 1024];
        let _ = socket.read(&mut buffer).await;
        let reply: &[u8] = if std::mem::take(&mut first) {
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        } else {
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
        };
        let _ = socket.write_all(reply).await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(read_record("a").await.unwrap(), "record a");
    assert_eq!(STORE_CALLS.swap(0, Ordering::SeqCst), 2, "Busy was retried");
    assert!(matches!(read_record("missing").await, Err(StoreError::NotFound(_))));
    assert_eq!(STORE_CALLS.load(Ordering::SeqCst), 2, "NotFound was not");

    assert_eq!(with_anyhow().await.unwrap(), 7);
    assert_eq!(ANYHOW_CALLS.load(Ordering::SeqCst), 2);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(serve(listener));
    let calls = AtomicU32::new(0);
    assert_eq!(fetch(&reqwest::Client::new(), &url, &calls).await.unwrap(), "ok");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the 503 was retried");

    println!("a stranger's project: its own error, anyhow and reqwest are each retried as documented");
}
