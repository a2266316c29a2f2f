use std::future::Future;
use std::pin::Pin;

use vta_retry_runtime::vta_retry;

/// An alias whose `Output` the attribute cannot read: it names none.
type Lookup<'a> = Pin<Box<dyn Future<Output = Result<u32, std::io::Error>> + Send + 'a>>;

#[vta_retry]
fn lookup(name: &str) -> Lookup<'_> {
    Box::pin(async move { Ok(name.len() as u32) })
}

fn main() {}
