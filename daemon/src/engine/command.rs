//! What a grant of a role gives: the sudo rule, and for a just-in-time
//! action the exact command line, checked against the role.
#![forbid(unsafe_code)]

use elevated_proto::UserName;

use super::EngineError;
use crate::grant::{GrantCommand, GrantSpec, SudoGrant};
use crate::policy::{Command, Role};

/// Longest just-in-time command line, in arguments.
pub(super) const MAX_ARGS: usize = 32;

/// Longest single word (the path or one argument) of a command line, in
/// bytes. Far above any real path or option; keeps a request's size bounded
/// by the limits below rather than by the frame.
pub(super) const MAX_WORD: usize = 256;

/// Longest whole command line, in bytes (all words together).
pub(super) const MAX_LINE: usize = 4096;

/// Checks a command line for what it is, whatever role it names (an unknown
/// role's request is recorded as refused, so its command must be as
/// bounded as any other): not empty, at most [`MAX_ARGS`] arguments of at
/// most [`MAX_WORD`] bytes, [`MAX_LINE`] in all, and only characters a
/// sudoers rule can express exactly.
pub(super) fn check_command_line(argv: &[String]) -> Result<GrantCommand, EngineError> {
    let bad = |m: String| EngineError::BadRequest(m);
    let Some((path, args)) = argv.split_first() else {
        return Err(bad("the command line is empty".into()));
    };
    if args.len() > MAX_ARGS {
        return Err(bad(format!(
            "the command line has {} arguments; the limit is {MAX_ARGS}",
            args.len()
        )));
    }
    if let Some(w) = argv.iter().find(|w| w.len() > MAX_WORD) {
        return Err(bad(format!(
            "a word of the command line is {} bytes long; the limit is {MAX_WORD}",
            w.len()
        )));
    }
    let total: usize = argv.iter().map(String::len).sum();
    if total > MAX_LINE {
        return Err(bad(format!(
            "the command line is {total} bytes long; the limit is {MAX_LINE}"
        )));
    }
    let cmd = GrantCommand::Path {
        path: path.clone(),
        args: Some(args.to_vec()),
    };
    crate::grant::sudoers::check_command(&cmd).map_err(|e| {
        bad(format!(
            "{e}: a just-in-time action is granted for exactly its command line, so it may only \
             use letters, digits and _ . / + @ % = : , -"
        ))
    })?;
    Ok(cmd)
}

/// A just-in-time command line becomes a sudoers rule for exactly these
/// arguments: checked as in [`check_command_line`], then against the
/// role's actions.
pub(super) fn check_command(role: &Role, argv: &[String]) -> Result<GrantCommand, EngineError> {
    let cmd = check_command_line(argv)?;
    let Some((path, args)) = argv.split_first() else {
        return Err(EngineError::BadRequest("the command line is empty".into()));
    };
    let covered = role.actions.iter().any(|a| match a {
        Command::All => true,
        Command::Path {
            path: p,
            args: None,
        } => p == path,
        Command::Path {
            path: p,
            args: Some(a),
        } => p == path && a.as_slice() == args,
    });
    if !covered {
        return Err(EngineError::Forbidden(format!(
            "role {} lists no action covering {path}",
            role.name
        )));
    }
    Ok(cmd)
}

/// What a grant of `role` gives: the role's rights, or for an action the
/// exact command line as the role's run-as user (root when the role has no
/// sudo part).
pub(super) fn grant_of(
    role: &Role,
    action: Option<GrantCommand>,
) -> Result<GrantSpec, EngineError> {
    let Some(cmd) = action else {
        return Ok(GrantSpec::from_role(role));
    };
    let runas = match &role.sudo {
        Some(s) => s.runas.clone(),
        None => UserName::parse("root").map_err(|e| EngineError::BadRequest(e.to_string()))?,
    };
    Ok(GrantSpec {
        sudo: Some(SudoGrant {
            runas,
            commands: vec![cmd],
            nopasswd: role.sudo.as_ref().is_none_or(|s| s.nopasswd),
        }),
        groups: Vec::new(),
        on_expiry: crate::policy::OnExpiry::Warn,
        terminate_grace_secs: 0,
        login: false,
    })
}
