//! From the raw command line to an exit status.

use std::ffi::OsString;
use std::process::ExitCode;

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
