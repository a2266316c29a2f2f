#![deny(async_fn_in_trait)]

use vta_retry_runtime::vta_retry;

// rustc's lint suggests desugaring the method; its suggestion must land in this code.
pub trait Store {
    #[vta_retry]
    async fn load(&self) -> Result<u32, std::io::Error> {
        Ok(1)
    }
}

fn main() {}
