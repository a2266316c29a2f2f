use vta_retry_runtime::vta_retry;

#[vta_retry]
struct Client;

fn main() {}
