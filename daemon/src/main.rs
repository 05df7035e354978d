//! `elevated`: the daemon binary. Everything lives in the library.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    elevated::cmd::main()
}
