use vta_retry_runtime::vta_retry;

fn consume(label: String) -> Result<u32, std::io::Error> {
    Ok(label.len() as u32)
}

// The body runs once per attempt, so it cannot move `label` out: the error points here.
#[vta_retry]
async fn call(label: String) -> Result<u32, std::io::Error> {
    consume(label)
}

fn main() {}
