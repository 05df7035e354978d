//! Command-line syntax.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use elevated_proto::{GrantId, RoleName, DEFAULT_SOCKET};

use crate::timefmt;

/// Request just-in-time privileges from the elevated daemon.
#[derive(Debug, Parser)]
#[command(name = "elevate", version, about, long_about = None)]
pub struct Cli {
    /// The daemon's socket.
    #[arg(
        long,
        global = true,
        env = "ELEVATE_SOCKET",
        hide_env_values = true,
        value_name = "PATH",
        default_value = DEFAULT_SOCKET
    )]
    pub socket: PathBuf,

    /// Print exactly one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the roles defined here, whether you may request each, and how.
    Roles,
    /// Ask for a role and wait until it is decided.
    Request(RequestArgs),
    /// Run one command with elevated rights, requesting a role if needed.
    Run(RunArgs),
    /// Show your active grants and pending requests.
    Status,
    /// List requests and grants you may see.
    List(ListArgs),
    /// Show every detail of one request or grant, or the text to sign for
    /// deciding it remotely.
    Show(ShowArgs),
    /// Approve a pending request (or extension), as yourself or with an
    /// approver's SSH signature.
    Approve(DecisionArgs),
    /// Deny a pending request (or extension), as yourself or with an
    /// approver's SSH signature.
    Deny(DecisionArgs),
    /// Withdraw your pending request or extension (its requester or root
    /// only).
    ///
    /// Only the requester (or root) may cancel: an approver refuses a
    /// request with `elevate deny ID` instead, so the refusal is on record
    /// as theirs. An active grant is ended with `elevate revoke ID`.
    Cancel(IdArg),
    /// End an active grant now (its holder, root, or an approver of its
    /// role).
    ///
    /// A request still pending has no grant to end: its requester
    /// withdraws it with `elevate cancel ID`, an approver refuses it with
    /// `elevate deny ID`.
    Revoke(IdArg),
    /// Ask for more time on an active grant.
    Extend(ExtendArgs),
    /// Close the review of a break-glass grant.
    Review(ReviewArgs),
    /// Show the audit log, or verify its hash chain.
    Audit(AuditArgs),
    /// Print a shell completion script on stdout (for packagers).
    #[command(hide = true)]
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout (for packagers).
    #[command(hide = true)]
    Man,
}

/// What a request carries besides the role.
#[derive(Debug, Clone, Args)]
pub struct RequestOptions {
    /// Length of the window (such as 90s, 30m, 1h30m); the role's default
    /// when not given.
    #[arg(long = "for", value_name = "DURATION", value_parser = timefmt::parse_for)]
    pub duration: Option<u64>,

    /// Why you need it; shown to approvers and written to the audit log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// A ticket reference, such as INC-42.
    #[arg(long, value_name = "ID")]
    pub ticket: Option<String>,
}

/// `elevate request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The role to request.
    #[arg(value_name = "ROLE", value_parser = parse_role)]
    pub role: RoleName,

    /// Request options.
    #[command(flatten)]
    pub options: RequestOptions,

    /// Do not wait for approval; exit 3 if the request is still pending.
    #[arg(long)]
    pub no_wait: bool,
}

/// `elevate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Use (or request) this role instead of finding one that covers the
    /// command.
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    pub role: Option<RoleName>,

    /// Request options, used when a new request is needed.
    #[command(flatten)]
    pub options: RequestOptions,

    /// The command and its arguments.
    #[arg(
        value_name = "COMMAND",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// `elevate list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only pending requests.
    #[arg(long)]
    pub pending: bool,

    /// Include finished requests too.
    #[arg(long)]
    pub all: bool,

    /// Only break-glass grants that still need a review.
    #[arg(long, conflicts_with = "pending")]
    pub unreviewed: bool,
}

/// `elevate show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The request or grant id.
    #[arg(value_name = "ID", value_parser = parse_id)]
    pub id: GrantId,

    /// Print only the exact text to sign to approve it (for
    /// `ssh-keygen -Y sign -n elevated-approval`).
    #[arg(long, conflicts_with = "denial_text")]
    pub approval_text: bool,

    /// Print only the exact text to sign to deny it.
    #[arg(long)]
    pub denial_text: bool,
}

/// `elevate approve` and `elevate deny`.
#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// The request id.
    #[arg(value_name = "ID", value_parser = parse_id)]
    pub id: GrantId,

    /// A note for the requester and the audit log.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,

    /// An `ssh-keygen -Y sign` signature file over the text that
    /// `elevate show ID --approval-text` (or `--denial-text`) prints: the
    /// decision is the signer's, not yours.
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
}

/// `elevate extend`.
#[derive(Debug, Args)]
pub struct ExtendArgs {
    /// The grant id.
    #[arg(value_name = "ID", value_parser = parse_id)]
    pub id: GrantId,

    /// How much time to add to the end of the window (such as 30m).
    #[arg(long = "for", value_name = "DURATION", value_parser = timefmt::parse_for)]
    pub duration: u64,

    /// Why; shown to approvers and written to the audit log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Do not wait for approval; exit 3 if the extension is pending.
    #[arg(long)]
    pub no_wait: bool,
}

/// `elevate review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The break-glass grant id.
    #[arg(value_name = "ID", value_parser = parse_id)]
    pub id: GrantId,

    /// What the review found.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

/// A request or grant id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The request or grant id.
    #[arg(value_name = "ID", value_parser = parse_id)]
    pub id: GrantId,
}

/// `elevate audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only rows since this time: RFC 3339 (2025-01-31T08:00:00Z) or a
    /// duration meaning that long ago (2h, 1day).
    #[arg(long, value_name = "TIME", conflicts_with = "verify")]
    pub since: Option<String>,

    /// At most this many of the newest rows.
    #[arg(long, value_name = "N", conflicts_with = "verify")]
    pub limit: Option<u32>,

    /// Recompute the whole hash chain instead of listing rows.
    #[arg(long)]
    pub verify: bool,

    /// With --verify, also compare the chain with the anchors (row
    /// sequence and hash) in FILE: the daemon's syslog lines, or a
    /// `journalctl -o json` dump. Catches deleted newest rows and
    /// rewritten chains, which the chain alone cannot show. Root only.
    #[arg(long, value_name = "FILE", requires = "verify")]
    pub against: Option<PathBuf>,
}

fn parse_role(s: &str) -> Result<RoleName, String> {
    RoleName::parse(s).map_err(|e| e.to_string())
}

fn parse_id(s: &str) -> Result<GrantId, String> {
    GrantId::parse(s).map_err(|e| e.to_string())
}

/// Whether `--json` appears among the arguments before a `--`, for reporting
/// errors that clap finds before it has parsed anything.
pub fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(args)
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn request_parses_duration() {
        let cli = parse(&["elevate", "request", "db-admin", "--for", "1h30m"]).unwrap();
        let Command::Request(r) = cli.command else {
            panic!("not a request")
        };
        assert_eq!(r.options.duration, Some(5400));
        assert_eq!(r.role.as_str(), "db-admin");
        assert!(parse(&["elevate", "request", "db-admin", "--for", "soon"]).is_err());
        assert!(parse(&["elevate", "request", "db-admin", "--for", "0s"]).is_err());
        assert!(parse(&["elevate", "request", "ALL"]).is_err());
    }

    #[test]
    fn run_keeps_command_arguments() {
        let cli = parse(&[
            "elevate", "--json", "run", "--role", "ops", "--", "ls", "-l", "--json",
        ])
        .unwrap();
        assert!(cli.json);
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.command, ["ls", "-l", "--json"]);
        assert!(parse(&["elevate", "run"]).is_err());
    }

    #[test]
    fn decisions_and_extensions() {
        let cli = parse(&["elevate", "deny", "k3f9x2ma", "--signature", "a.sig"]).unwrap();
        let Command::Deny(d) = cli.command else {
            panic!("not deny")
        };
        assert_eq!(d.signature.as_deref(), Some(std::path::Path::new("a.sig")));
        assert!(parse(&["elevate", "extend", "k3f9x2ma"]).is_err());
        let cli = parse(&["elevate", "extend", "k3f9x2ma", "--for", "1h"]).unwrap();
        let Command::Extend(e) = cli.command else {
            panic!("not extend")
        };
        assert_eq!(e.duration, 3600);
        assert!(parse(&[
            "elevate",
            "show",
            "k3f9x2ma",
            "--approval-text",
            "--denial-text"
        ])
        .is_err());
        assert!(parse(&["elevate", "list", "--pending", "--unreviewed"]).is_err());
    }

    #[test]
    fn packaging_helpers_are_hidden() {
        let cli = parse(&["elevate", "completions", "fish"]).unwrap();
        assert!(matches!(cli.command, Command::Completions { .. }));
        assert!(matches!(
            parse(&["elevate", "man"]).unwrap().command,
            Command::Man
        ));
        let help = Cli::command().render_help().to_string();
        let listed = |name: &str| help.lines().any(|l| l.trim_start().starts_with(name));
        assert!(!listed("completions ") && !listed("man "), "{help}");
    }

    #[test]
    fn json_is_seen_before_double_dash_only() {
        let v = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_json(&v(&["elevate", "request", "--json", "x"])));
        assert!(!wants_json(&v(&["elevate", "run", "--", "x", "--json"])));
        assert!(!wants_json(&v(&["--json"])));
    }
}
