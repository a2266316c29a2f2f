use std::io;
use vta_retry_runtime::vta_retry;

struct Reader {
    buf: Vec<u8>,
}

impl Reader {
    fn fill(&mut self) -> io::Result<()> {
        self.buf.push(0);
        Ok(())
    }

    // The borrow one attempt returns would block the next attempt's `&mut self`.
    #[vta_retry]
    async fn frame(&mut self) -> io::Result<&[u8]> {
        self.fill()?;
        Ok(self.buf.as_slice())
    }
}

fn main() {}
