use std::time::Duration;
use vta_retry_runtime::Retryable;

#[derive(Debug, Retryable)]
#[retryable(delegate)]
struct Relayed(#[retryable(retry_after)] Duration);

fn main() {}
