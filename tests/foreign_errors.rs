//! Errors the user did not write, classified by the runtime's features: `reqwest::Error` by what
//! failed, `anyhow::Error` and `Box<dyn Error + Send + Sync>` by their chain of causes. Every error
//! here is a real one, made by reqwest against the loopback server or a refused port.

use std::error::Error;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use vta_retry_runtime::{Retryable, vta_retry};
use vta_retry_tests::server::{Reply, Server, refused_url};

/// `GET /health` through `error_for_status`, so a status is an error.
async fn get(http: &reqwest::Client, url: &str) -> Result<String, reqwest::Error> {
    http.get(format!("{url}/health"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

/// The error `reply` makes of a `GET /health`.
async fn error_for(reply: Reply) -> reqwest::Error {
    let server = Server::health([reply]).await;
    get(&reqwest::Client::new(), &server.url())
        .await
        .expect_err("the reply is an error")
}

#[tokio::test]
async fn reqwest_statuses_follow_the_server_table_and_429() {
    for status in [500, 502, 503, 504, 429] {
        let error = error_for(Reply::status(status, "")).await;
        assert!(error.is_status());
        assert!(error.is_transient(), "{status}");
    }
    for status in [400, 401, 403, 404, 409, 501, 505, 511] {
        let error = error_for(Reply::status(status, "")).await;
        assert!(!error.is_transient(), "{status}");
    }
}

#[tokio::test]
async fn reqwest_transport_failures_are_transient() {
    // A refused connection.
    let refused = get(&reqwest::Client::new(), &refused_url())
        .await
        .unwrap_err();
    assert!(refused.is_connect(), "{refused:?}");
    assert!(refused.is_transient());

    // A timeout: the server never answers.
    let server = Server::health([Reply::Silent]).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let timed_out = get(&impatient, &server.url()).await.unwrap_err();
    assert!(timed_out.is_timeout(), "{timed_out:?}");
    assert!(timed_out.is_transient());

    // A connection closed before the reply: the request could not complete.
    let closed = error_for(Reply::Close).await;
    assert!(closed.is_transient(), "{closed:?}");
}

#[tokio::test]
async fn reqwest_decode_builder_and_redirect_errors_are_not() {
    let server = Server::health([Reply::Healthy, Reply::status(200, "not json")]).await;
    let http = reqwest::Client::new();
    let url = format!("{}/health", server.url());
    let _ = http.get(&url).send().await.unwrap();
    let decode = http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap_err();
    assert!(decode.is_decode(), "{decode:?}");
    assert!(!decode.is_transient());

    let builder = http.get("http://[not a host").send().await.unwrap_err();
    assert!(builder.is_builder(), "{builder:?}");
    assert!(!builder.is_transient());

    let redirects =
        Server::health((0..3).map(|_| Reply::status(302, "").with_header("Location", "/health")))
            .await;
    let strict = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(1))
        .build()
        .unwrap();
    let redirect = get(&strict, &redirects.url()).await.unwrap_err();
    assert!(redirect.is_redirect(), "{redirect:?}");
    assert!(!redirect.is_transient());
}

#[tokio::test]
async fn anyhow_and_boxed_errors_classify_by_their_first_known_cause() {
    let refused = get(&reqwest::Client::new(), &refused_url())
        .await
        .unwrap_err();
    let with_context = anyhow::Error::from(refused).context("creating the persona's signing key");
    assert!(with_context.is_transient());

    let not_found =
        anyhow::Error::from(io::Error::from(io::ErrorKind::NotFound)).context("reading");
    assert!(!not_found.is_transient());
    let reset = anyhow::Error::from(io::Error::from(io::ErrorKind::ConnectionReset));
    assert!(reset.is_transient());
    let unknown = anyhow::anyhow!("no such persona");
    assert!(
        !unknown.is_transient(),
        "an error the runtime cannot read is never retried"
    );

    let refused = get(&reqwest::Client::new(), &refused_url())
        .await
        .unwrap_err();
    let boxed: Box<dyn Error + Send + Sync> = Box::new(refused);
    assert!(boxed.is_transient());
    let boxed: Box<dyn Error + Send + Sync> = "no such persona".into();
    assert!(!boxed.is_transient());
}

// ---- retried end to end ----

#[vta_retry(backoff = "1ms")]
async fn by_reqwest(
    http: &reqwest::Client,
    url: &str,
    calls: &AtomicU32,
) -> Result<String, reqwest::Error> {
    calls.fetch_add(1, Ordering::SeqCst);
    get(http, url).await
}

#[vta_retry(backoff = "1ms")]
async fn by_anyhow(http: &reqwest::Client, url: &str, calls: &AtomicU32) -> anyhow::Result<String> {
    calls.fetch_add(1, Ordering::SeqCst);
    let body = get(http, url).await?;
    anyhow::ensure!(body.contains("ok"), "unexpected body {body}");
    Ok(body)
}

#[vta_retry(backoff = "1ms", timeout = "5s")]
async fn by_box(
    http: &reqwest::Client,
    url: &str,
    calls: &AtomicU32,
) -> Result<String, Box<dyn Error + Send + Sync>> {
    calls.fetch_add(1, Ordering::SeqCst);
    Ok(get(http, url).await?)
}

#[tokio::test]
async fn each_is_retried_on_a_503_and_not_on_a_404() {
    let http = reqwest::Client::new();
    for form in 0..3 {
        let server = Server::health([Reply::status(503, ""), Reply::Healthy]).await;
        let calls = AtomicU32::new(0);
        let url = server.url();
        let ok = match form {
            0 => by_reqwest(&http, &url, &calls).await.is_ok(),
            1 => by_anyhow(&http, &url, &calls).await.is_ok(),
            _ => by_box(&http, &url, &calls).await.is_ok(),
        };
        assert!(ok, "form {form}");
        assert_eq!(
            (calls.load(Ordering::SeqCst), server.requests()),
            (2, 2),
            "form {form}"
        );

        let server = Server::health([Reply::status(404, ""), Reply::Healthy]).await;
        let calls = AtomicU32::new(0);
        let url = server.url();
        let failed = match form {
            0 => by_reqwest(&http, &url, &calls).await.is_err(),
            1 => by_anyhow(&http, &url, &calls).await.is_err(),
            _ => by_box(&http, &url, &calls).await.is_err(),
        };
        assert!(failed, "form {form}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "form {form}: a 404 is not retried"
        );
    }
}
