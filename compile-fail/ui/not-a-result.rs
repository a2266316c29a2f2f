use vta_retry_runtime::vta_retry;

#[vta_retry]
async fn call() -> Option<u32> {
    Some(1)
}

fn main() {}
