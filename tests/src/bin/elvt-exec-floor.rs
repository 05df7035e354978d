//! The floor of any `sudo` wrapper, for the benchmark: a program that does
//! nothing but (optionally) ask the daemon for the caller's status over
//! one connection, then replace itself with `sudo -n -- ARGS...`.
//!
//! `elvt-exec-floor exec ARGS...` execs at once; `elvt-exec-floor status
//! ARGS...` first makes the one round trip `elevate run` makes (through
//! the same client library). `elevate run`'s time above these rows is what
//! its own work costs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::os::unix::process::CommandExt;

use elevated_proto::{Client, Request, Timeouts};

fn main() {
    let mut args = std::env::args_os().skip(1);
    let mode = args.next().unwrap_or_default();
    if mode == "status" {
        let socket = std::env::var_os("ELEVATE_SOCKET").expect("ELEVATE_SOCKET");
        let mut c = Client::connect(socket.as_ref(), Timeouts::default()).unwrap();
        c.call(Request::Status {}).unwrap();
    } else {
        assert_eq!(mode, "exec", "usage: elvt-exec-floor exec|status ARGS...");
    }
    let err = std::process::Command::new("sudo")
        .arg("-n")
        .arg("--")
        .args(args)
        .exec();
    panic!("exec sudo: {err}");
}
