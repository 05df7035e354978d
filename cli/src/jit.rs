//! Just-in-time actions in `elevate run`: a grant for exactly one command
//! line, used once. The command runs as a child of `elevate` (not in its
//! place) so the grant can be revoked as soon as it ends.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::time::SystemTime;

use elevated_proto::{GrantId, Request, RequestView, SudoView};

use crate::conn::{view_id, Daemon};
use crate::exit::{self, Failure};
use crate::out::Out;
use crate::program::sudo_args;
use crate::{interrupt, render};

/// Runs the one command of the action grant `grant` through sudo, waits for
/// it, revokes the grant, and returns the command's exit status.
pub fn run_once(socket: &Path, grant: &RequestView, out: &Out) -> Result<u8, Failure> {
    let id = view_id(grant)?;
    let Some((program, args)) = grant.command.as_deref().and_then(<[String]>::split_first) else {
        return Err(Failure::protocol("the action grant carries no command"));
    };
    let sudo = grant.sudo.clone().unwrap_or_else(|| SudoView {
        runas: "root".into(),
        commands: Vec::new(),
        nopasswd: true,
    });
    let rest: Vec<OsString> = args.iter().map(OsString::from).collect();
    if !out.json {
        out.note(&format!(
            "request {id} active: {}, for one run of {}",
            render::clean(&grant.role),
            render::command_line(grant.command.as_deref().unwrap_or_default())
        ));
    }
    // Ctrl-C goes to the command; `elevate` stays to revoke the grant.
    interrupt::catch();
    let status = std::process::Command::new("sudo")
        .args(sudo_args(&sudo, Path::new(program), &rest))
        .status();
    interrupt::take();
    revoke(socket, &id, grant, out);
    match status {
        Ok(s) => Ok(exit_code(s)),
        Err(e) => Err(Failure::new(
            exit::REFUSED,
            "exec",
            format!("cannot run sudo: {e}"),
        )),
    }
}

/// Ends the action grant; a failure is reported, not fatal: the grant
/// expires by itself.
fn revoke(socket: &Path, id: &GrantId, grant: &RequestView, out: &Out) {
    let result =
        Daemon::connect(socket).and_then(|mut d| d.call_view(Request::Revoke { id: id.clone() }));
    if let Err(f) = result {
        let mut s = format!("could not revoke the action grant {id}: {}", f.message);
        match render::left(grant, SystemTime::now()) {
            Some(l) => s.push_str(&format!("; it expires anyway in {l}")),
            None => s.push_str("; it expires anyway"),
        }
        out.note(&s);
    }
}

/// The status to exit with for a child's: its code, or 128 plus the signal
/// that killed it, as shells report it.
#[must_use]
pub fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(exit::REFUSED);
    }
    let signal = status.signal().unwrap_or(0);
    u8::try_from(128 + signal).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_statuses() {
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(2)), 130);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }
}
