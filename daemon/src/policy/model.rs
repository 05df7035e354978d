//! Typed, validated policy: what the loader produces and the engine reads.
//! Nothing here does I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use elevated_proto::{GroupName, RoleName, UserName};

/// Where a policy item was written, for messages and `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    /// The file name (not the full path), e.g. `10-db.toml`.
    pub file: String,
    /// 1-based line of the item's start.
    pub line: u32,
}

/// What a grant of a role gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// The role's name.
    pub name: RoleName,
    /// Free text shown by `elevate roles`.
    pub description: String,
    /// Sudo rights for the window.
    pub sudo: Option<SudoSpec>,
    /// Supplementary groups for the window.
    pub groups: Vec<GroupName>,
    /// `groups` may name privileged groups (root-equivalent ones).
    pub allow_privileged_groups: bool,
    /// What happens to processes still using the grant when it ends.
    pub on_expiry: OnExpiry,
    /// With [`OnExpiry::Terminate`]: how long processes have between
    /// SIGTERM and SIGKILL.
    pub terminate_grace: Duration,
    /// Counts as login access where the host requires it.
    pub login: bool,
    /// Window when the request names none.
    pub default_duration: Duration,
    /// Longest window.
    pub max_duration: Duration,
    /// Commands that need their own approval every time, even while the
    /// role is active (just-in-time actions): requested with
    /// `elevate run -- CMD ARGS`, granted for exactly that command line.
    pub actions: Vec<Command>,
    /// Window of an approved action (default 5 minutes).
    pub action_duration: Duration,
    /// Every request for the role needs PAM re-authentication.
    pub reauth: bool,
    /// Where it was defined.
    pub source: SourceRef,
}

/// What the daemon does, when a grant ends, about the processes that still
/// hold a granted group or were started through the grant's sudo rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExpiry {
    /// Leave them running; log and audit them.
    #[default]
    Warn,
    /// SIGTERM, then SIGKILL after the role's `terminate_grace`.
    Terminate,
}

/// The sudo part of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoSpec {
    /// Target user (default `root`).
    pub runas: UserName,
    /// Allowed commands.
    pub commands: Vec<Command>,
    /// No password prompt (default true).
    pub nopasswd: bool,
}

/// One allowed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `ALL`: any command.
    All,
    /// An absolute path, validated; with `args: None` any arguments are
    /// allowed, with `Some(v)` exactly `v` (empty: no arguments at all).
    Path {
        /// Absolute, normalised path.
        path: String,
        /// Fixed arguments.
        args: Option<Vec<String>>,
    },
}

/// Whether a rule grants or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// First matching allow decides, unless a deny matches.
    Allow,
    /// Always wins when it matches.
    Deny,
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// 1-based position of the rule within its file.
    pub index_in_file: usize,
    /// Where it was written.
    pub source: SourceRef,
    /// The role it is about.
    pub role: RoleName,
    /// Allow or deny.
    pub effect: Effect,
    /// Who it applies to (`None`: everyone).
    pub who: Option<Who>,
    /// Where it applies (`None`: every host).
    pub r#where: Option<Where>,
    /// When it applies (`None`: always).
    pub when: Option<When>,
    /// Facts about the requester's login session from logind (`session`:
    /// `local`/`remote`, `service`, `tty`, `rhost`). A fact that is not
    /// known (no bus, no logind, no session) never satisfies an allow rule
    /// and always satisfies a deny rule, so missing facts never open access.
    pub context: Option<BTreeMap<String, Vec<String>>>,
    /// How a request it allows is approved.
    pub approval: Approval,
}

impl Rule {
    /// A stable human label: `10-db.toml rule 2 (line 14)`.
    #[must_use]
    pub fn label(&self) -> String {
        format!(
            "{} rule {} (line {})",
            self.source.file, self.index_in_file, self.source.line
        )
    }
}

/// `who`: every key given must match; within a key, any value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Who {
    /// User names.
    pub users: Option<Vec<UserName>>,
    /// Groups (supplementary or primary).
    pub groups: Option<Vec<GroupName>>,
    /// Attribute name -> accepted values (from `users.d`).
    pub attributes: Option<BTreeMap<String, Vec<String>>>,
}

/// `where`: every key given must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Where {
    /// Host name globs (`*`, `?`), compared case-insensitively.
    pub hosts: Option<Vec<String>>,
    /// Tag name -> accepted values.
    pub tags: Option<BTreeMap<String, Vec<String>>>,
}

/// `when`: every key given must match, in the rule's time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    /// Days of the week; bit 0 = Monday ... bit 6 = Sunday.
    pub days: Option<u8>,
    /// Time-of-day ranges. A range whose end is not after its start runs
    /// across midnight and belongs to the day it starts on.
    pub hours: Option<Vec<HourRange>>,
    /// The zone the days and hours are in (default UTC).
    pub tz: jiff::tz::TimeZone,
}

/// A half-open range of minutes since midnight, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRange {
    /// First minute inside.
    pub start: u16,
    /// First minute outside (1440 = midnight at the end of the day).
    pub end: u16,
}

impl fmt::Display for HourRange {
    /// As written in policy: `22:00-06:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// Short day names, Monday first, as written in policy.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A day mask as policy would write it, runs of days shortened:
/// `mon-fri,sun`.
#[must_use]
pub fn format_days(mask: u8) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < 7 {
        if mask & (1 << i) == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i + 1 < 7 && mask & (1 << (i + 1)) != 0 {
            i += 1;
        }
        parts.push(if start == i {
            DAY_NAMES[start].to_owned()
        } else {
            format!("{}-{}", DAY_NAMES[start], DAY_NAMES[i])
        });
        i += 1;
    }
    parts.join(",")
}

/// How a request allowed by a rule is approved. Stored with each request
/// (serde), so a later policy change does not alter a decision under way.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Approval {
    /// Distinct approvers needed; 0 = automatic.
    pub count: u32,
    /// Who may approve.
    pub approvers: Approvers,
    /// The requester must give a reason.
    pub reason: bool,
    /// The requester must re-authenticate.
    pub reauth: bool,
    /// How long the request may stay pending.
    pub timeout: Option<Duration>,
    /// Granted at once (count = 0) but marked for mandatory review.
    pub break_glass: bool,
    /// Denials that close the request (default 1: any single deny).
    pub deny_count: u32,
    /// A signed decision counts only from a FIDO (`sk-`) key whose
    /// authenticator verified the user (PIN or biometrics), as OpenSSH's
    /// `verify-required` asks of a login. Local decisions are not affected.
    pub verify_required: bool,
}

/// Who may approve.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Approvers {
    /// Local users.
    pub users: Vec<UserName>,
    /// Local groups.
    pub groups: Vec<GroupName>,
    /// SSH signing principals from `allowed_signers`.
    pub principals: Vec<String>,
    /// Attribute name -> accepted values (from `users.d`).
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Facts about the requester, gathered by the daemon (NSS, `users.d`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The requester's user name, as NSS reports it for their uid.
    pub user: String,
    /// The requester's uid, from the socket's peer credentials.
    pub uid: u32,
    /// Every group: primary and supplementary.
    pub groups: BTreeSet<String>,
    /// Attributes from `users.d`.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Session facts from logind (empty when unknown).
    pub context: BTreeMap<String, Vec<String>>,
}

/// The session facts a rule's `context` may name, as logind reports them.
pub const CONTEXT_FACTS: [&str; 4] = ["session", "service", "tty", "rhost"];

/// Facts about this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// Host name as used in `where.hosts` and approvals.
    pub name: String,
    /// Tags from `[host]` and `host.d`.
    pub tags: BTreeMap<String, Vec<String>>,
    /// The host's cap on any window.
    pub max_duration: Duration,
}
