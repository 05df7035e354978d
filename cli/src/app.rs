//! From the raw command line to an exit status.

use std::ffi::OsString;
use std::process::ExitCode;

use std::io::Write;

use clap::{CommandFactory, Parser};

use crate::args::{wants_json, Cli};
use crate::commands;
use crate::exit::{self, Failure};
use crate::out::Out;

/// Parses `args` (program name first), runs the command and reports any
/// failure.
pub fn main_with(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            return usage_error(
                &e,
                Out {
                    json: wants_json(&args),
                },
            )
        }
    };
    let out = Out { json: cli.json };
    match commands::dispatch(cli, &out) {
        Ok(status) => ExitCode::from(status),
        Err(f) => {
            out.failure(&f);
            ExitCode::from(f.status)
        }
    }
}

/// Help and version go to stdout with status 0; everything else is a usage
/// error, reported like every other failure with status 2: every line on
/// stderr starts with `elevate: ` (clap's usage and hint lines too), and the
/// JSON message holds only the first paragraph. A missing subcommand is one
/// too: the whole help on stderr would be many lines that are not messages.
fn usage_error(e: &clap::Error, out: Out) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::from(exit::OK);
    }
    let text = if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        format!(
            "a subcommand is required\n\n{}\n\nFor more information, try '--help'.",
            Cli::command().render_usage()
        )
    } else {
        e.render().to_string()
    };
    let text = text.trim_end();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    out.note(text);
    if out.json {
        let first = text.split("\n\n").next().unwrap_or_default();
        let words: Vec<&str> = first.split_whitespace().collect();
        out.error_object(&Failure::usage(words.join(" ")));
    }
    ExitCode::from(exit::USAGE)
}

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
