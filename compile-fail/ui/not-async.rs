use vta_retry_runtime::vta_retry;

#[vta_retry]
fn call() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
