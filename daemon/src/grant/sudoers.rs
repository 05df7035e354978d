//! Sudoers drop-ins: `elevated_<id>`, mode 0440 root:root, one rule per grant
//! carrying `NOTAFTER` so sudo stops honouring it even if the daemon is dead.
//!
//! Install: write `elevated_<id>.tmp` (the `.` makes sudo skip it), fsync,
//! check with `visudo -cf`, rename over the final name, fsync the directory.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use elevated_proto::{GrantId, UserName};

use super::{GrantCommand, GrantError, SudoGrant};
use crate::times::rfc3339;

/// File name prefix of every drop-in the daemon owns.
pub const PREFIX: &str = "elevated_";

/// Everything needed to render one grant's drop-in.
#[derive(Debug, Clone)]
pub struct SudoRule<'a> {
    /// The grant id.
    pub id: &'a GrantId,
    /// The role (validated name; only used in a comment).
    pub role: &'a str,
    /// Who gets the rights.
    pub user: &'a UserName,
    /// The run-as user, commands and password setting the rule gives.
    pub sudo: &'a SudoGrant,
    /// Window start, Unix ms.
    pub starts_at: i64,
    /// Window end, Unix ms.
    pub expires_at: i64,
}

/// Whether a command path names `sudoedit`, which sudoers only accepts
/// without a path (`visudo`: "sudoedit should not be specified with a
/// path"): a rule holding it would be refused as a whole.
#[must_use]
pub fn is_sudoedit(path: &str) -> bool {
    path.rsplit('/').next() == Some("sudoedit")
}

fn path_ok(p: &str) -> bool {
    !is_sudoedit(p)
        && p.starts_with('/')
        && !p.ends_with('/')
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '+' | '-'))
        && p.split('/')
            .skip(1)
            .all(|seg| !matches!(seg, "" | "." | ".."))
}

fn arg_ok(a: &str) -> bool {
    !a.is_empty()
        && a.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.' | '/' | '+' | '@' | '%' | '=' | ':' | ',' | '-')
        })
}

/// Sudoers needs `,` `:` `=` `\` escaped inside command arguments.
fn escape_arg(a: &str) -> String {
    let mut out = String::with_capacity(a.len() + 2);
    for c in a.chars() {
        if matches!(c, ',' | ':' | '=' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn render_command(c: &GrantCommand) -> Result<String, GrantError> {
    match c {
        GrantCommand::All => Ok("ALL".to_owned()),
        GrantCommand::Path { path, args } => {
            if !path_ok(path) {
                return Err(GrantError::Unsafe(format!("command path {path:?}")));
            }
            match args {
                None => Ok(path.clone()),
                Some(a) if a.is_empty() => Ok(format!("{path} \"\"")),
                Some(a) => {
                    let mut s = path.clone();
                    for arg in a {
                        if !arg_ok(arg) {
                            return Err(GrantError::Unsafe(format!("argument {arg:?}")));
                        }
                        s.push(' ');
                        s.push_str(&escape_arg(arg));
                    }
                    Ok(s)
                }
            }
        }
    }
}

/// Checks a command the way the renderer will, without rendering a rule.
pub fn check_command(c: &GrantCommand) -> Result<(), GrantError> {
    render_command(c).map(|_| ())
}

/// `YYYYMMDDHHMMSSZ` in UTC, the form sudoers wants for `NOTAFTER`.
///
/// Times before 1970 are refused: sudo reads the last second of 1969 as an
/// invalid time (`mktime` returns -1 for it), and a window never ends
/// before the epoch anyway.
fn sudoers_time(ms: i64) -> Result<String, GrantError> {
    if ms < 0 {
        return Err(GrantError::Unsafe(format!(
            "window end {ms} ms is before 1970"
        )));
    }
    let ts = jiff::Timestamp::from_millisecond(ms)
        .map_err(|e| GrantError::Unsafe(format!("time {ms}: {e}")))?;
    Ok(ts.strftime("%Y%m%d%H%M%SZ").to_string())
}

/// Renders the drop-in text. Only validated names and policy command paths
/// reach it; nothing the requester typed does.
pub fn render(rule: &SudoRule<'_>) -> Result<String, GrantError> {
    let sudo = rule.sudo;
    if sudo.commands.is_empty() {
        return Err(GrantError::Unsafe("a sudo grant with no commands".into()));
    }
    if !rule
        .role
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(GrantError::Unsafe(format!("role name {:?}", rule.role)));
    }
    let cmds = sudo
        .commands
        .iter()
        .map(render_command)
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    let tag = if sudo.nopasswd {
        "NOPASSWD: "
    } else {
        "PASSWD: "
    };
    Ok(format!(
        "# elevated grant {id}: role {role} for {user}\n\
         # window {start} to {end} (UTC); managed by elevated, do not edit\n\
         {user} ALL = ({runas}) NOTAFTER={notafter} {tag}{cmds}\n",
        id = rule.id,
        role = rule.role,
        user = rule.user,
        runas = sudo.runas,
        start = rfc3339(rule.starts_at),
        end = rfc3339(rule.expires_at),
        notafter = sudoers_time(rule.expires_at)?,
    ))
}

/// A file found in the sudoers directory that the daemon owns by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropIn {
    /// The file name.
    pub name: String,
    /// The grant id, when the name is a well-formed final name.
    pub id: Option<GrantId>,
}

/// How a grant's drop-in on disk compares with the text it should hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The file holds exactly that text.
    Matches,
    /// There is no such file (or it cannot be read).
    Missing,
    /// The file holds something else: someone changed it.
    Altered,
}

/// The sudoers drop-in directory.
#[derive(Debug, Clone)]
pub struct SudoersDir {
    dir: PathBuf,
    visudo: PathBuf,
    timeout: Duration,
    /// Shared by clones: a hung `visudo` is not started again at once.
    backoff: crate::sys::run::Backoff,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> GrantError + 'a {
    move |source| GrantError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

impl SudoersDir {
    /// A drop-in directory checked with the given `visudo`, which gets
    /// [`super::DEFAULT_COMMAND_TIMEOUT`] to answer.
    #[must_use]
    pub fn new(dir: PathBuf, visudo: PathBuf) -> Self {
        Self {
            dir,
            visudo,
            timeout: super::DEFAULT_COMMAND_TIMEOUT,
            backoff: crate::sys::run::Backoff::default(),
        }
    }

    /// The same directory with another time limit for `visudo`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The path of a grant's drop-in.
    #[must_use]
    pub fn path_of(&self, id: &GrantId) -> PathBuf {
        self.dir.join(format!("{PREFIX}{id}"))
    }

    fn sync_dir(&self) -> Result<(), GrantError> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing", &self.dir))
    }

    /// Writes, checks and installs a grant's drop-in, replacing any earlier
    /// one for the same id.
    pub fn install(&self, rule: &SudoRule<'_>) -> Result<PathBuf, GrantError> {
        let text = render(rule)?;
        let final_path = self.path_of(rule.id);
        let tmp = self.dir.join(format!("{PREFIX}{}.tmp", rule.id));
        let _ = fs::remove_file(&tmp);
        let result = self.write_checked(&tmp, &text);
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        crate::fault::hit(crate::fault::Point::BeforeSudoersRename);
        fs::rename(&tmp, &final_path).map_err(io("renaming", &tmp))?;
        self.sync_dir()?;
        crate::fault::hit(crate::fault::Point::AfterSudoersRename);
        Ok(final_path)
    }

    fn write_checked(&self, tmp: &Path, text: &str) -> Result<(), GrantError> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o440)
            .open(tmp)
            .map_err(io("creating", tmp))?;
        // The mode above is filtered by the umask, and the unit runs the
        // daemon with UMask=0077: 0400 would work for sudo but fail
        // `visudo -c` (and so every administrator's check and the
        // package's removal scripts), which wants exactly 0440.
        f.set_permissions(fs::Permissions::from_mode(0o440))
            .map_err(io("chmod", tmp))?;
        if crate::sys::is_root() {
            std::os::unix::fs::fchown(&f, Some(0), Some(0)).map_err(io("chown", tmp))?;
        }
        f.write_all(text.as_bytes()).map_err(io("writing", tmp))?;
        f.sync_all().map_err(io("syncing", tmp))?;
        drop(f);
        // Bounded: the engine holds its lock meanwhile, and a hung visudo
        // must fail this grant, not stop every other one.
        let visudo_failed = |detail: String| GrantError::Visudo {
            path: tmp.display().to_string(),
            detail,
        };
        let mut cmd = Command::new(&self.visudo);
        cmd.arg("-c").arg("-q").arg("-f").arg(tmp);
        let limits = crate::sys::run::Limits {
            capture_stdout: true,
            ..crate::sys::run::Limits::timeout(self.timeout)
        };
        let out = self
            .backoff
            .run(&mut cmd, &limits)
            .map_err(|e| visudo_failed(e.to_string()))?;
        if !out.status.success() {
            let mut detail = out.stderr.trim().to_owned();
            if detail.is_empty() {
                detail = out.stdout.trim().to_owned();
            }
            return Err(visudo_failed(format!("{} ({})", detail, out.status)));
        }
        Ok(())
    }

    /// Removes a grant's drop-in. Returns whether a file was there.
    pub fn remove(&self, id: &GrantId) -> Result<bool, GrantError> {
        self.remove_name(&format!("{PREFIX}{id}"))
    }

    /// Removes the drop-in of a grant whose window has ended, without
    /// waiting for the directory to reach the disk. Every rule in it
    /// carries `NOTAFTER` at that end, so if a power cut undid the removal
    /// sudo would still refuse the rule, and reconciliation at the next
    /// start removes the file. Saves a directory sync per expiry, which is
    /// most of the cost when many windows end in the same second. An early
    /// end (revocation) uses [`SudoersDir::remove`]: its `NOTAFTER` is
    /// still ahead.
    pub fn remove_expired(&self, id: &GrantId) -> Result<bool, GrantError> {
        self.remove_inner(&format!("{PREFIX}{id}"), false)
    }

    /// Removes a file by name (only names starting with [`PREFIX`]).
    pub fn remove_name(&self, name: &str) -> Result<bool, GrantError> {
        self.remove_inner(name, true)
    }

    fn remove_inner(&self, name: &str, sync: bool) -> Result<bool, GrantError> {
        if !name.starts_with(PREFIX) || name.contains('/') {
            return Err(GrantError::Unsafe(format!("not a drop-in name: {name:?}")));
        }
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => {
                if sync {
                    self.sync_dir()?;
                }
                crate::fault::hit(crate::fault::Point::AfterDropinRemove);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("removing", &path)(e)),
        }
    }

    /// Every `elevated_*` entry in the directory (temporary ones included).
    pub fn list(&self) -> Result<Vec<DropIn>, GrantError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("listing", &self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(io("listing", &self.dir))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if let Some(rest) = name.strip_prefix(PREFIX) {
                let id = GrantId::parse(rest).ok();
                out.push(DropIn { name, id });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Whether grant `id`'s drop-in holds exactly `text` (what
    /// [`render`] makes of its rule).
    #[must_use]
    pub fn holds(&self, id: &GrantId, text: &str) -> Found {
        match fs::read_to_string(self.path_of(id)) {
            Ok(have) if have == text => Found::Matches,
            Ok(_) => Found::Altered,
            Err(_) => Found::Missing,
        }
    }

    /// Whether a grant's drop-in exists.
    #[must_use]
    pub fn exists(&self, id: &GrantId) -> bool {
        self.path_of(id).exists()
    }
}

#[cfg(test)]
#[path = "sudoers_tests.rs"]
mod tests;
