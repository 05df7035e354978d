//! Dispatch, and the simple subcommands.

use std::path::Path;
use std::time::SystemTime;

use elevated_proto::{ListFilter, Request, Verdict};

use crate::args::{AuditArgs, Cli, Command, IdArg, ListArgs, RequestArgs};
use crate::conn::Daemon;
use crate::exit::{self, Failure};
use crate::out::Out;
use crate::wait::Waited;
use crate::{decide, extend, render, run, timefmt, wait};

/// Runs the parsed command line and returns the exit status.
pub fn dispatch(cli: Cli, out: &Out) -> Result<u8, Failure> {
    let socket_path = cli.socket_path();
    let socket = socket_path.as_path();
    match cli.command {
        Command::Roles => roles(socket, out),
        Command::Request(args) => request(socket, &args, out),
        Command::Run(args) => run::run(socket, args, out),
        Command::Status => status(socket, out),
        Command::List(args) => list(socket, &args, out),
        Command::Show(args) => decide::show(socket, args, out),
        Command::Approve(args) => decide::decide(socket, Verdict::Approve, args, out),
        Command::Deny(args) => decide::decide(socket, Verdict::Deny, args, out),
        Command::Cancel(IdArg { id }) => change(socket, Request::Cancel { id }, out),
        Command::Revoke(IdArg { id }) => change(socket, Request::Revoke { id }, out),
        Command::Extend(args) => extend::extend(socket, args, out),
        Command::Review(args) => decide::review(socket, args, out),
        Command::Audit(args) => audit(socket, &args, out),
        Command::Completions { shell } => crate::packaging::completions(shell),
        Command::Man => crate::packaging::man(),
    }
}

fn roles(socket: &Path, out: &Out) -> Result<u8, Failure> {
    let (host, roles) = Daemon::connect(socket)?.roles()?;
    if out.json {
        out.json(&serde_json::json!({"host": host, "roles": roles}))?;
    } else {
        out.text(&render::roles(&host, &roles));
    }
    Ok(exit::OK)
}

fn request(socket: &Path, args: &RequestArgs, out: &Out) -> Result<u8, Failure> {
    let mut daemon = Daemon::connect(socket)?;
    let view = wait::submit(&mut daemon, &args.role, &args.options, None)?;
    if args.no_wait {
        return wait::report(&view, out);
    }
    match wait::until_decided(socket, daemon, view, out)? {
        Waited::Decided(view) => wait::report(&view, out),
        Waited::Stopped(status) => Ok(status),
    }
}

fn status(socket: &Path, out: &Out) -> Result<u8, Failure> {
    let (views, truncated) = Daemon::connect(socket)?.call_list(Request::Status {})?;
    if out.json {
        out.json(&requests_object(&views, truncated))?;
    } else {
        out.text(&render::status(&views, SystemTime::now()));
        note_truncated(out, truncated, views.len());
    }
    Ok(exit::OK)
}

/// `{"requests":[...]}`, with `"truncated":true` when the daemon left
/// older entries out.
fn requests_object(views: &[elevated_proto::RequestView], truncated: bool) -> serde_json::Value {
    let mut obj = serde_json::json!({ "requests": views });
    if truncated {
        obj["truncated"] = true.into();
    }
    obj
}

/// Tells a reader (on stderr) that older entries were left out.
fn note_truncated(out: &Out, truncated: bool, shown: usize) {
    if truncated {
        out.note(&format!(
            "only the newest {shown} entries fit in one answer; older ones are left out"
        ));
    }
}

fn list(socket: &Path, args: &ListArgs, out: &Out) -> Result<u8, Failure> {
    let (views, truncated) = Daemon::connect(socket)?.call_list(Request::List(ListFilter {
        pending: args.pending,
        all: args.all,
        unreviewed: args.unreviewed,
    }))?;
    let now = SystemTime::now();
    if out.json {
        out.json(&requests_object(&views, truncated))?;
    } else if args.pending {
        out.text(&render::pending(&views, now));
    } else if args.unreviewed {
        out.text(&render::unreviewed(&views));
    } else {
        out.text(&render::list(&views, now));
    }
    if !out.json {
        note_truncated(out, truncated, views.len());
    }
    Ok(exit::OK)
}

fn change(socket: &Path, request: Request, out: &Out) -> Result<u8, Failure> {
    let view = Daemon::connect(socket)?.call_view(request)?;
    if out.json {
        out.json(&view)?;
    } else {
        out.text(&render::changed(&view));
    }
    Ok(exit::OK)
}

fn audit(socket: &Path, args: &AuditArgs, out: &Out) -> Result<u8, Failure> {
    if args.verify {
        return crate::audit_verify::verify(socket, args.against.as_deref(), out);
    }
    let since = args
        .since
        .as_deref()
        .map(|s| timefmt::parse_since(s, SystemTime::now()))
        .transpose()
        .map_err(Failure::usage)?;
    let (rows, truncated) = Daemon::connect(socket)?.audit(since, args.limit)?;
    if out.json {
        let mut obj = serde_json::json!({"rows": rows});
        if truncated {
            obj["truncated"] = true.into();
        }
        out.json(&obj)?;
    } else {
        out.text(&render::audit(&rows));
        if truncated {
            out.note(&format!(
                "only the newest {} rows fit in one answer; see older ones with --since",
                rows.len()
            ));
        }
    }
    Ok(exit::OK)
}
