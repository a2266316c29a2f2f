//! A loopback HTTP/1.1 server that injects faults, for driving vta-sdk's real REST client.
//!
//! It listens on `127.0.0.1:0`, keeps connections alive as HTTP/1.1 does by default, and asks a
//! handler how to answer each request it reads: with a reply, by closing the connection without
//! one, or by going silent (the connection stays open and is never answered or read again: the
//! keep-alive socket a mediator forgot). It counts every request it reads in full and every
//! connection it accepts. A refused connection is a port nothing listens on: [`refused_url`].
//!
//! Dropping the [`Server`] aborts it, and with it every connection it holds open.
//!
//! ```no_run
//! # async fn f() {
//! use vta_retry_tests::server::{Reply, Server};
//!
//! let server = Server::health([Reply::status(503, r#"{"error":"busy"}"#), Reply::Healthy]).await;
//! let client = vta_sdk::client::VtaClient::new(&server.url());
//! assert!(client.health().await.is_err());
//! assert_eq!(client.health().await.unwrap().status, "ok");
//! assert_eq!(server.requests(), 2);
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Longest request head (request line and headers) the server reads before dropping the
/// connection, so a confused client cannot make it buffer without bound.
const MAX_HEAD: usize = 16 * 1024;

/// Longest request body it reads.
const MAX_BODY: usize = 64 * 1024;

/// One request, as read off the socket.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target, e.g. `/health`.
    pub path: String,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    /// The body, `Content-Length` bytes of it.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the server answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `200 OK` with a valid `HealthResponse`: `{"status":"ok"}`.
    Healthy,
    /// `status`, the extra `headers`, and `body` (sent as `application/json`).
    Status {
        /// The HTTP status code.
        status: u16,
        /// Extra response headers, e.g. `Retry-After`.
        headers: Vec<(String, String)>,
        /// The response body.
        body: String,
    },
    /// Close the connection without replying.
    Close,
    /// Never answer, and never read from this connection again, but keep it open.
    Silent,
}

impl Reply {
    /// `status` with `body` and no extra headers.
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self::Status {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The same reply with one more header. Only a [`Reply::Status`] carries headers.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Status { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

/// Decides the reply to each request. Called once per request read, in the order they are read.
pub type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running fault-injecting server. Dropping it stops it.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Server {
    /// Starts a server on `127.0.0.1` that answers every request with `handler`.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        // A backlog above tokio's default 1024, so a thousand clients connecting at once are
        // all queued rather than some waiting out a SYN retry.
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind 127.0.0.1:0");
        let listener = socket.listen(4096).expect("listen");
        let addr = listener.local_addr().expect("the bound address");
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::new(handler),
            Arc::clone(&requests),
            Arc::clone(&connections),
        ));
        Self {
            addr,
            requests,
            connections,
            task,
        }
    }

    /// A server whose `GET /health` answers with `script`, one reply per request, in order.
    ///
    /// A request past the end of the script is answered `418` with body `script exhausted`
    /// (vta-sdk's `VtaError::Other`, never retried), and any other path `404`, so a test that
    /// counts requests sees an overrun rather than hanging on it.
    pub async fn health(script: impl IntoIterator<Item = Reply>) -> Self {
        let script = Mutex::new(script.into_iter().collect::<VecDeque<_>>());
        Self::start(move |request| {
            if request.method != "GET" || request.path != "/health" {
                return Reply::status(404, r#"{"error":"no such route"}"#);
            }
            script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Reply::status(418, "script exhausted"))
        })
        .await
    }

    /// A server whose `POST /keys` creates records in `store` (see [`KeyStore`]).
    pub async fn keys(store: Arc<Mutex<KeyStore>>) -> Self {
        Self::start(move |request| {
            if request.method != "POST" || request.path != "/keys" {
                return Reply::status(404, r#"{"error":"no such route"}"#);
            }
            store.lock().unwrap().create(request)
        })
        .await
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests read in full (head and body), whatever the reply: a request the server then
    /// closed on or went silent on is counted.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Connections accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The accept task owns the connection tasks, so this ends them too.
        self.task.abort();
    }
}

/// A URL on `127.0.0.1` where nothing listens: connecting to it is refused.
///
/// The port was free a moment ago (bound, then released); nothing in these tests binds a fixed
/// port, so it stays free.
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = listener.local_addr().expect("the bound address");
    drop(listener);
    format!("http://{addr}")
}

async fn accept_loop(
    listener: TcpListener,
    handler: Arc<Handler>,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
) {
    // Owned here, so aborting this task aborts every connection task with it.
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.fetch_add(1, Ordering::SeqCst);
                tasks.spawn(serve(stream, Arc::clone(&handler), Arc::clone(&requests)));
            }
            // Reap finished connections so the set does not grow with every one.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
}

/// Serves one connection: request after request until the client closes it or a reply ends it.
async fn serve(stream: TcpStream, handler: Arc<Handler>, requests: Arc<AtomicUsize>) {
    let mut stream = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut stream).await {
        requests.fetch_add(1, Ordering::SeqCst);
        let close_after = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        match handler(&request) {
            Reply::Close => return,
            Reply::Silent => {
                // Hold the socket open, unanswered, until the server is dropped.
                std::future::pending::<()>().await;
            }
            Reply::Healthy => {
                let healthy = Reply::status(200, r#"{"status":"ok"}"#);
                if write_reply(stream.get_mut(), &healthy).await.is_err() {
                    return;
                }
            }
            reply @ Reply::Status { .. } => {
                if write_reply(stream.get_mut(), &reply).await.is_err() {
                    return;
                }
            }
        }
        if close_after {
            return;
        }
    }
}

/// Reads one request; `None` when the client closed the connection between requests.
async fn read_request(stream: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Err(io::ErrorKind::InvalidData.into());
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut head = line.len();
    let mut headers = Vec::new();
    loop {
        line.clear();
        let read = stream.read_line(&mut line).await?;
        head += read;
        if read == 0 || head > MAX_HEAD {
            return Err(io::ErrorKind::InvalidData.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(io::ErrorKind::InvalidData.into());
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    let length = match request.header("content-length") {
        Some(value) => value
            .parse::<usize>()
            .map_err(|_| io::ErrorKind::InvalidData)?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err(io::ErrorKind::InvalidData.into());
    }
    request.body = vec![0; length];
    stream.read_exact(&mut request.body).await?;
    Ok(Some(request))
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply) -> io::Result<()> {
    let Reply::Status {
        status,
        headers,
        body,
    } = reply
    else {
        unreachable!("only a status reply is written");
    };
    let mut response = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        reason(*status),
        body.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(body);
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await
}

/// The reason phrase, for the log of anyone reading a capture; clients ignore it.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        410 => "Gone",
        418 => "I'm a teapot",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// One record `POST /keys` created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The id the server gave it: `key-1`, `key-2`, … in creation order.
    pub id: String,
    /// The request body that created it.
    pub body: String,
    /// The `Idempotency-Key` the creating request carried, if any.
    pub idempotency_key: Option<String>,
}

/// The state behind `POST /keys`: a create endpoint whose first replies are lost.
///
/// Every request is processed before its reply is decided: a request with an `Idempotency-Key`
/// already seen gets the record that key created, and any other request creates a new one. Then
/// the first `replies_to_drop` replies are dropped (the connection is closed without an answer):
/// the server did the work, and the client cannot know it. Every other reply is `201` with
/// `{"id":"<record id>"}`.
#[derive(Debug, Default)]
pub struct KeyStore {
    records: Vec<Record>,
    by_key: HashMap<String, usize>,
    keys_seen: Vec<Option<String>>,
    replies_to_drop: usize,
}

impl KeyStore {
    /// A store that drops its first `replies_to_drop` replies.
    pub fn dropping_first_replies(replies_to_drop: usize) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self {
            replies_to_drop,
            ..Self::default()
        }))
    }

    /// The records created, in order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The `Idempotency-Key` of every create request, in the order they arrived.
    pub fn keys_seen(&self) -> &[Option<String>] {
        &self.keys_seen
    }

    fn create(&mut self, request: &Request) -> Reply {
        let key = request.header("idempotency-key").map(str::to_owned);
        self.keys_seen.push(key.clone());
        let index = match key.as_ref().and_then(|k| self.by_key.get(k)) {
            Some(&existing) => existing,
            None => {
                self.records.push(Record {
                    id: format!("key-{}", self.records.len() + 1),
                    body: String::from_utf8_lossy(&request.body).into_owned(),
                    idempotency_key: key.clone(),
                });
                let index = self.records.len() - 1;
                if let Some(key) = key {
                    self.by_key.insert(key, index);
                }
                index
            }
        };
        if self.replies_to_drop > 0 {
            self.replies_to_drop -= 1;
            return Reply::Close;
        }
        Reply::status(201, format!(r#"{{"id":"{}"}}"#, self.records[index].id))
    }
}
