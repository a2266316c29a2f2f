use vta_retry_runtime::Retryable;

#[derive(Retryable)]
union Status {
    code: u16,
    raw: [u8; 2],
}

fn main() {}
