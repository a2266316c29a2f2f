use vta_retry_runtime::vta_retry;

fn consume(label: String) -> Result<u32, std::io::Error> {
    Ok(label.len() as u32)
}

// A body with `?` runs in an `async` block; the move is still reported at the user's body.
#[vta_retry]
async fn call(label: String) -> Result<u32, std::io::Error> {
    let length = consume(label)?;
    Ok(length)
}

fn main() {}
