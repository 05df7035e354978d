//! `elevate run`: find or obtain a grant that covers a command, then become
//! `sudo` running it (or, for a just-in-time action, run it once through
//! sudo and give the grant back).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use elevated_proto::{Request, RequestState, RequestView, RoleName, SudoView};

use crate::args::RunArgs;
use crate::conn::Daemon;
use crate::cover::{self, Invocation, RoleChoice};
use crate::exit::{self, Failure};
use crate::out::Out;
use crate::program::{resolve, sudo_args};
use crate::wait::{self, Waited};
use crate::{jit, render};

/// Runs `elevate run`. With a grant of sudo rights the process is replaced
/// by `sudo` and this returns only on failure; with an action grant it
/// returns the command's exit status.
pub fn run(socket: &Path, args: RunArgs, out: &Out) -> Result<u8, Failure> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Failure::usage("no command given"));
    };
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::usage(format!("cannot read the current directory: {e}")))?;
    let path =
        resolve(program, std::env::var_os("PATH").as_deref(), &cwd).map_err(Failure::usage)?;
    let targets = targets(&path, rest);
    let shown = path.display().to_string();
    let role = args.role.as_ref().map(RoleName::as_str);

    let mut daemon = Daemon::connect(socket)?;
    let views = daemon.call_views(Request::Status {})?;
    for (exe, inv) in &targets {
        if let Some(grant) = cover::find_grant(&views, role, inv) {
            if grant.command.is_some() {
                drop(daemon);
                return jit::run_once(socket, grant, out);
            }
            return become_sudo(grant.sudo.as_ref(), exe, rest);
        }
    }
    if let Some(r) = role {
        let held = views
            .iter()
            .find(|v| v.state == RequestState::Active && v.role == r && v.command.is_none());
        if let Some(g) = held {
            return Err(not_covered(&g.role, &shown));
        }
    }

    let pending = targets
        .iter()
        .find_map(|(_, inv)| cover::find_pending(&views, role, inv));
    let waited = match pending {
        Some(p) => {
            if !out.json {
                out.note(&format!(
                    "using your pending request {} for {}",
                    render::clean(&p.id),
                    render::clean(&p.role)
                ));
            }
            wait::until_decided(socket, daemon, p.clone(), out)?
        }
        None => {
            let (role, command) = choose_role(&mut daemon, args.role.as_ref(), &targets, &shown)?;
            let v = wait::submit(&mut daemon, &role, &args.options, command)?;
            wait::until_decided(socket, daemon, v, out)?
        }
    };
    let view = match waited {
        Waited::Decided(v) => *v,
        Waited::Stopped(status) => return Ok(status),
    };
    if view.state != RequestState::Active {
        return wait::report(&view, out);
    }
    if let Some(command) = &view.command {
        if !targets.iter().any(|(_, inv)| cover::argv_is(command, inv)) {
            return Err(Failure::protocol(format!(
                "elevated granted another command ({}) than {shown}",
                render::command_line(command)
            )));
        }
        return jit::run_once(socket, &view, out);
    }
    let Some((exe, _)) = targets
        .iter()
        .find(|(_, inv)| cover::sudo_covers(view.sudo.as_ref(), inv))
    else {
        return Err(not_covered(&view.role, &shown));
    };
    if !out.json {
        out.note(&granted_line(&view));
    }
    become_sudo(view.sudo.as_ref(), exe, rest)
}

/// The role to request, and the command line when it is a just-in-time
/// action: with `--role`, that role (an action if its actions include the
/// command, else for its sudo rights, unless they cannot cover it);
/// without, the one allowed role whose actions include the command, else
/// the one whose sudo rights cover it.
fn choose_role(
    daemon: &mut Daemon,
    wanted: Option<&RoleName>,
    targets: &[(PathBuf, Invocation)],
    shown: &str,
) -> Result<(RoleName, Option<Vec<String>>), Failure> {
    let (_, offers) = daemon.roles()?;
    if let Some(r) = wanted {
        let Some(o) = offers.iter().find(|o| o.role == r.as_str()) else {
            return Ok((r.clone(), None));
        };
        if let Some((_, inv)) = targets.iter().find(|(_, inv)| cover::actions_cover(o, inv)) {
            return Ok((r.clone(), Some(action_argv(inv)?)));
        }
        let covers = targets
            .iter()
            .any(|(_, inv)| cover::sudo_covers(o.sudo.as_ref(), inv));
        if !covers {
            return Err(not_covered(r.as_str(), shown));
        }
        return Ok((r.clone(), None));
    }
    for (_, inv) in targets {
        match cover::pick_action(&offers, inv) {
            RoleChoice::One(name) => return Ok((role_name(&name)?, Some(action_argv(inv)?))),
            RoleChoice::Several(names) => return Err(several(&names, shown)),
            RoleChoice::Nothing => {}
        }
    }
    let mut found = Vec::new();
    for (_, inv) in targets {
        match cover::pick_role(&offers, inv) {
            RoleChoice::One(name) => return Ok((role_name(&name)?, None)),
            RoleChoice::Several(names) if found.is_empty() => found = names,
            _ => {}
        }
    }
    if found.is_empty() {
        return Err(Failure::new(
            exit::REFUSED,
            "no_role",
            format!("no role you may request covers {shown}"),
        ));
    }
    Err(several(&found, shown))
}

fn role_name(name: &str) -> Result<RoleName, Failure> {
    RoleName::parse(name)
        .map_err(|e| Failure::protocol(format!("elevated offered an invalid role name: {e}")))
}

fn several(names: &[String], shown: &str) -> Failure {
    let names: Vec<String> = names.iter().map(|n| render::clean(n)).collect();
    Failure::usage(format!(
        "several roles you may request cover {shown}: {}; choose one with --role",
        names.join(", ")
    ))
}

/// The command line to request as an action.
fn action_argv(inv: &Invocation) -> Result<Vec<String>, Failure> {
    cover::argv(inv).ok_or_else(|| {
        Failure::usage(format!(
            "{}: a just-in-time action needs arguments that are valid UTF-8",
            inv.path
        ))
    })
}

fn not_covered(role: &str, shown: &str) -> Failure {
    Failure::new(
        exit::REFUSED,
        "no_role",
        format!("role {} does not cover {shown}", render::clean(role)),
    )
}

fn granted_line(view: &RequestView) -> String {
    let mut s = format!(
        "request {} active: {}",
        render::clean(&view.id),
        render::clean(&view.role)
    );
    if let Some(end) = &view.expires_at {
        s.push_str(&format!(" until {}", render::clean(end)));
    }
    if let Some(left) = render::left(view, SystemTime::now()) {
        s.push_str(&format!(" ({left} left)"));
    }
    s
}

/// The resolved program, and also its canonical path when that differs (a
/// policy may name either), each with the invocation used for matching.
fn targets(path: &Path, rest: &[OsString]) -> Vec<(PathBuf, Invocation)> {
    let args: Option<Vec<String>> = rest.iter().map(|a| a.to_str().map(String::from)).collect();
    let mut paths = vec![path.to_path_buf()];
    if let Ok(real) = std::fs::canonicalize(path) {
        if real != path {
            paths.push(real);
        }
    }
    paths
        .into_iter()
        .map(|p| {
            let inv = Invocation {
                path: p.to_string_lossy().into_owned(),
                args: args.clone(),
            };
            (p, inv)
        })
        .collect()
}

fn become_sudo(sudo: Option<&SudoView>, exe: &Path, rest: &[OsString]) -> Result<u8, Failure> {
    let Some(sudo) = sudo else {
        return Err(Failure::protocol("the grant carries no sudo rights"));
    };
    let err = std::process::Command::new("sudo")
        .args(sudo_args(sudo, exe, rest))
        .exec();
    Err(Failure::new(
        exit::REFUSED,
        "exec",
        format!("cannot run sudo: {err}"),
    ))
}
