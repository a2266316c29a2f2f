use vta_retry_runtime::vta_retry;

#[vta_retry]
async fn call() {}

fn main() {}
