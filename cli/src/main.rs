//! `elevate`: the command-line client of the elevated daemon. Ask for a role,
//! wait for its approval, run a command with it, see and end grants.
#![forbid(unsafe_code)]

mod anchors;
mod app;
mod args;
mod audit_verify;
mod commands;
mod conn;
mod converse;
mod cover;
mod decide;
mod exit;
mod extend;
mod interrupt;
mod jit;
mod manpage;
mod out;
mod packaging;
mod program;
mod render;
mod render_list;
mod render_view;
mod run;
mod timefmt;
mod tty;
mod wait;

fn main() -> std::process::ExitCode {
    app::main_with(std::env::args_os().collect())
}
