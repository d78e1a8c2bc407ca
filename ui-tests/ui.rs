//! trybuild suite: each misuse of the API and the exact error users see (`fail/`), and
//! uses that must keep compiling (`pass/`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("fail/*.rs");
    t.compile_fail("fail/derive/*.rs");
    t.pass("pass/*.rs");
}
