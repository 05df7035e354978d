//! What packagers generate from the command line definition: shell
//! completions and the manual page (both hidden from `--help`).

use std::io::Write;

use clap::CommandFactory;

use crate::args::Cli;
use crate::exit::{self, Failure};

/// `elevate completions SHELL`: the completion script on stdout, for
/// packagers (hidden from `--help`).
pub fn completions(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut visible_command(), "elevate", &mut buf);
    write_stdout(&buf)
}

/// The command line without its hidden subcommands, which the completion
/// generators would otherwise offer.
fn visible_command() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new("elevate").version(env!("CARGO_PKG_VERSION"));
    for arg in full.get_arguments() {
        cmd = cmd.arg(arg.clone());
    }
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        cmd = cmd.subcommand(sub.clone());
    }
    cmd
}

/// `elevate man`: the manual page (roff) on stdout, for packagers (hidden
/// from `--help`).
pub fn man() -> Result<u8, Failure> {
    let page = crate::manpage::render(Cli::command()).map_err(io_failure)?;
    write_stdout(&page)
}

fn write_stdout(bytes: &[u8]) -> Result<u8, Failure> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|()| o.flush())
        .map_err(io_failure)?;
    Ok(exit::OK)
}

fn io_failure(e: std::io::Error) -> Failure {
    Failure::new(exit::REFUSED, "io", format!("cannot write the output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_offer_no_hidden_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut visible_command(), "elevate", &mut buf);
            let text = String::from_utf8(buf).unwrap();
            assert!(text.contains("request"), "{shell}: {text}");
            assert!(text.contains("socket"), "{shell}: {text}");
            assert!(!text.contains("packagers"), "{shell}: {text}");
            assert!(!text.contains("completions"), "{shell}: {text}");
        }
    }
}
