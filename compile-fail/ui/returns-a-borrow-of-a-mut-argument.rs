use std::io;
use vta_retry_runtime::vta_retry;

#[vta_retry]
async fn fill<'a>(label: &str, buf: &'a mut Vec<u8>) -> io::Result<&'a [u8]> {
    buf.extend_from_slice(label.as_bytes());
    Ok(buf.as_slice())
}

fn main() {}
