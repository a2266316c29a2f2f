use vta_retry_runtime::vta_retry;

trait Remote {
    #[vta_retry]
    async fn call(&self) -> Result<u32, std::io::Error>;
}

fn main() {}
