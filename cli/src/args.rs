//! Command-line syntax.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use elevated_proto::{GrantId, RoleName, DEFAULT_SOCKET, MAX_AUDIT_LIMIT};

use crate::timefmt;

/// Request just-in-time privileges from the elevated daemon.
#[derive(Debug, Parser)]
#[command(name = "elevate", version, about, long_about = None)]
pub struct Cli {
    /// The daemon's socket [default: /run/elevated/elevated.sock; also
    /// ELEVATE_SOCKET, where an empty value means the default].
    // Not clap's `env`: it takes an empty variable for an empty path.
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Print exactly one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The socket to use: `--socket`, else a non-empty `ELEVATE_SOCKET`,
    /// else the default.
    #[must_use]
    pub fn socket_path(&self) -> PathBuf {
        socket_from(
            self.socket.as_deref(),
            std::env::var_os("ELEVATE_SOCKET").as_deref(),
        )
    }
}

/// [`Cli::socket_path`] from the option and the environment variable: an
/// empty variable is as good as none, the way shells unset things
/// (`ELEVATE_SOCKET= elevate ...`).
fn socket_from(option: Option<&std::path::Path>, env: Option<&std::ffi::OsStr>) -> PathBuf {
    match (option, env) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(e)) if !e.is_empty() => PathBuf::from(e),
        _ => PathBuf::from(DEFAULT_SOCKET),
    }
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

    /// At most this many of the newest rows (1,000 by default, at most
    /// 10,000).
    #[arg(long, value_name = "N", conflicts_with = "verify", value_parser = parse_limit)]
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

/// `audit --limit`: refused above the daemon's cap here already, so the
/// mistake is reported before anything is asked.
fn parse_limit(s: &str) -> Result<u32, String> {
    let n: u32 = s
        .trim()
        .parse()
        .map_err(|e| format!("{e}; expected a number of rows"))?;
    if !(1..=MAX_AUDIT_LIMIT).contains(&n) {
        return Err(format!("must be from 1 to {MAX_AUDIT_LIMIT} rows"));
    }
    Ok(n)
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
#[path = "args_tests.rs"]
mod tests;
