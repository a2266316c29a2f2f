//! Every input `#[vta_retry]` rejects, with the error rustc shows the user (`tests/ui/*.stderr`).
//! Regenerate the expected output after a deliberate change with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
