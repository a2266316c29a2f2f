use vta_retry_runtime::vta_retry;

// A connection cannot be cloned, so an attempt cannot start from the one the caller passed.
struct Connection {
    sent: Vec<u8>,
}

#[vta_retry]
async fn send(mut connection: Connection, frame: &[u8]) -> std::io::Result<usize> {
    connection.sent.extend_from_slice(frame);
    Ok(connection.sent.len())
}

fn main() {}
