//! Each attempt starts from the arguments as passed, as each call of the function would without
//! the attribute: a `mut` argument that one attempt changes is back as passed for the next.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;

use vta_retry_runtime::vta_retry;

/// What each attempt saw, and a failure for all but the last.
struct Seen<T> {
    values: Mutex<Vec<T>>,
    attempts: usize,
}

impl<T: Clone> Seen<T> {
    fn new(attempts: usize) -> Self {
        Self {
            values: Mutex::new(Vec::new()),
            attempts,
        }
    }

    /// Records `value`; fails until the last attempt.
    fn attempt(&self, value: T) -> io::Result<T> {
        let mut values = self.values.lock().unwrap();
        values.push(value.clone());
        if values.len() < self.attempts {
            Err(io::ErrorKind::ConnectionReset.into())
        } else {
            Ok(value)
        }
    }

    fn values(&self) -> Vec<T> {
        self.values.lock().unwrap().clone()
    }
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn get(mut url: String, seen: &Seen<String>) -> io::Result<String> {
    url.push_str("?format=json");
    seen.attempt(url)
}

#[tokio::test]
async fn a_mut_string_is_as_passed_on_every_attempt() {
    let seen = Seen::new(3);
    let url = get("https://vta.example/keys".to_owned(), &seen)
        .await
        .unwrap();
    assert_eq!(url, "https://vta.example/keys?format=json");
    assert_eq!(seen.values(), vec![url.clone(), url.clone(), url]);
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn bump(mut n: u32, seen: &Seen<u32>) -> io::Result<u32> {
    n += 1;
    seen.attempt(n)
}

#[tokio::test]
async fn a_mut_integer_is_as_passed_on_every_attempt() {
    let seen = Seen::new(3);
    assert_eq!(bump(10, &seen).await.unwrap(), 11);
    assert_eq!(seen.values(), [11, 11, 11], "not 11, 12, 13");
}

#[derive(Clone, Debug, PartialEq)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    #[vta_retry(attempts = 3, backoff = "0s")]
    async fn send(mut self, seen: &Seen<Request>) -> io::Result<Request> {
        self.headers.push(("x-attempt".into(), "1".into()));
        let sent = self.clone();
        seen.attempt(sent)
    }
}

#[tokio::test]
async fn mut_self_by_value_is_as_passed_on_every_attempt() {
    let seen = Seen::new(2);
    let request = Request {
        path: "/keys".into(),
        headers: Vec::new(),
    };
    let sent = request.clone().send(&seen).await.unwrap();
    assert_eq!(sent.headers.len(), 1);
    assert_eq!(seen.values(), [sent.clone(), sent]);
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn label_pair((mut label, n): (String, u8), seen: &Seen<String>) -> io::Result<String> {
    label.push_str(&n.to_string());
    seen.attempt(label)
}

#[tokio::test]
async fn a_mut_binding_in_a_pattern_is_as_passed_on_every_attempt() {
    let seen = Seen::new(3);
    assert_eq!(
        label_pair(("key-".into(), 7), &seen).await.unwrap(),
        "key-7"
    );
    assert_eq!(seen.values(), ["key-7", "key-7", "key-7"]);
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn push_id((ref mut ids, id): (Vec<u8>, u8), seen: &Seen<Vec<u8>>) -> io::Result<Vec<u8>> {
    ids.push(id);
    seen.attempt(ids.clone())
}

#[tokio::test]
async fn a_ref_mut_binding_in_a_pattern_points_at_the_argument_as_passed() {
    let seen = Seen::new(3);
    assert_eq!(push_id((vec![1], 2), &seen).await.unwrap(), [1, 2]);
    assert_eq!(
        seen.values(),
        [vec![1, 2], vec![1, 2], vec![1, 2]],
        "not [1, 2, 2, 2]"
    );
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn skip_header(mut frame: &[u8], seen: &Seen<Vec<u8>>) -> io::Result<Vec<u8>> {
    frame = &frame[2..];
    seen.attempt(frame.to_vec())
}

#[tokio::test]
async fn a_mut_slice_is_resliced_from_the_original_on_every_attempt() {
    let seen = Seen::new(3);
    assert_eq!(skip_header(b"HDbody", &seen).await.unwrap(), b"body");
    assert_eq!(
        seen.values(),
        [b"body".to_vec(), b"body".to_vec(), b"body".to_vec()]
    );
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn advance(mut cursor: &mut Vec<u8>, seen: &Seen<usize>) -> io::Result<usize> {
    let mut scratch = Vec::new();
    if cursor.len() > 1 {
        // Point the binding elsewhere: only this attempt's copy of the reference changes.
        cursor = &mut scratch;
    }
    cursor.push(0);
    seen.attempt(cursor.len())
}

/// `&mut T` is not `Clone`: each attempt reborrows the caller's reference instead.
#[tokio::test]
async fn a_mut_reference_is_reborrowed_from_the_original_on_every_attempt() {
    let seen = Seen::new(3);
    let mut buffer = vec![1, 2];
    assert_eq!(advance(&mut buffer, &seen).await.unwrap(), 1);
    assert_eq!(
        seen.values(),
        [1, 1, 1],
        "every attempt starts from the caller's buffer"
    );
    assert_eq!(buffer, [1, 2], "which no attempt pointed away from");
}

/// A body that moves its `mut` argument moves this attempt's copy: the next attempt has its own.
#[vta_retry(attempts = 3, backoff = "0s")]
async fn consume(mut name: String, seen: &Seen<String>) -> io::Result<String> {
    name.make_ascii_uppercase();
    let owned: String = name;
    seen.attempt(owned)
}

#[tokio::test]
async fn a_body_may_move_its_mut_argument() {
    let seen = Seen::new(3);
    assert_eq!(consume("alice".into(), &seen).await.unwrap(), "ALICE");
    assert_eq!(seen.values(), ["ALICE", "ALICE", "ALICE"]);
}

/// A connection driven through a pinned mutable reference, as a hand-written future's state is.
#[derive(Default)]
struct Conn {
    sent: u32,
}

impl Conn {
    #[vta_retry(attempts = 3, backoff = "0s")]
    async fn send(mut self: Pin<&mut Self>, seen: &Seen<u32>) -> io::Result<u32> {
        self.sent += 1;
        seen.attempt(self.sent)
    }

    /// Consumes the pin on every attempt.
    #[vta_retry(attempts = 3, backoff = "0s")]
    async fn send_unpinned(self: Pin<&mut Self>, seen: &Seen<u32>) -> io::Result<u32> {
        let conn = self.get_mut();
        conn.sent += 10;
        seen.attempt(conn.sent)
    }

    #[vta_retry(attempts = 3, backoff = "0s")]
    async fn send_typed(mut self: &mut Self, seen: &Seen<u32>) -> io::Result<u32> {
        self.sent += 100;
        seen.attempt(self.sent)
    }
}

fn add_one(counter: Pin<&mut u32>) -> u32 {
    let counter = counter.get_mut();
    *counter += 1;
    *counter
}

#[vta_retry(attempts = 3, backoff = "0s")]
async fn count(counter: Pin<&mut u32>, seen: &Seen<u32>) -> io::Result<u32> {
    seen.attempt(add_one(counter))
}

#[tokio::test]
async fn pinned_and_typed_mut_references_are_reborrowed_on_every_attempt() {
    // What a mutable reference points at is the caller's: every attempt's change stays, as
    // it would across calls. The reference itself is the attempt's to consume.
    let mut conn = Conn::default();
    let seen = Seen::new(3);
    assert_eq!(Pin::new(&mut conn).send(&seen).await.unwrap(), 3);
    assert_eq!(seen.values(), [1, 2, 3]);
    let seen = Seen::new(3);
    assert_eq!(Pin::new(&mut conn).send_unpinned(&seen).await.unwrap(), 33);
    assert_eq!(seen.values(), [13, 23, 33]);
    let seen = Seen::new(2);
    assert_eq!(conn.send_typed(&seen).await.unwrap(), 233);
    assert_eq!(seen.values(), [133, 233]);
    let mut counter = 0;
    let seen = Seen::new(3);
    assert_eq!(count(Pin::new(&mut counter), &seen).await.unwrap(), 3);
    assert_eq!(seen.values(), [1, 2, 3]);
}

struct Client;

#[async_trait::async_trait]
trait Fetch {
    async fn fetch(&self, path: String, seen: &Seen<String>) -> io::Result<String>;
    async fn fetch_pair(&self, pair: (String, u8), seen: &Seen<String>) -> io::Result<String>;
}

#[async_trait::async_trait]
impl Fetch for Client {
    #[vta_retry(attempts = 3, backoff = "0s")]
    async fn fetch(&self, mut path: String, seen: &Seen<String>) -> io::Result<String> {
        path.insert(0, '/');
        seen.attempt(path)
    }

    #[vta_retry(attempts = 3, backoff = "0s")]
    async fn fetch_pair(
        &self,
        (ref mut path, n): (String, u8),
        seen: &Seen<String>,
    ) -> io::Result<String> {
        path.push_str(&n.to_string());
        seen.attempt(path.clone())
    }
}

#[tokio::test]
async fn under_async_trait_too() {
    let seen = Seen::new(3);
    assert_eq!(Client.fetch("keys".into(), &seen).await.unwrap(), "/keys");
    assert_eq!(seen.values(), ["/keys", "/keys", "/keys"]);
    let seen = Seen::new(3);
    let pair = ("keys/".into(), 7);
    assert_eq!(Client.fetch_pair(pair, &seen).await.unwrap(), "keys/7");
    assert_eq!(seen.values(), ["keys/7", "keys/7", "keys/7"]);
}
