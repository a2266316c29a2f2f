// A `mut` the body does not need is reported at the user's `mut`, as it is without the
// attribute: each attempt would otherwise clone the argument for nothing.
#![deny(unused_mut)]

use vta_retry_runtime::vta_retry;

#[vta_retry]
async fn send(mut url: String, mut attempts_seen: u32) -> Result<usize, std::io::Error> {
    attempts_seen += 1;
    Ok(url.len() + attempts_seen as usize)
}

fn main() {}
