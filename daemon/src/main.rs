//! `elevated`: the daemon binary. Everything lives in the library.
fn main() {}
