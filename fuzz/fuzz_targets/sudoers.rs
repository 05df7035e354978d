//! The sudoers drop-in renderer, fed through the same validation the daemon
//! uses: user, run-as and grant names through the validated name types,
//! commands either straight into the renderer (as a just-in-time action's
//! command line from a client reaches it) or through a policy file (as a
//! role's `sudo.commands` do), with any window times.
//!
//! Property: whenever rendering succeeds, the text passes `visudo -cf`, and
//! sudo reads it (`cvtsudoers -f json`) as exactly one rule, for that user
//! on all hosts, as the run-as user, with the intended `NOTAFTER`,
//! password setting and command lines, nothing more. Inputs the validation
//! refuses are fine. One `visudo` and one `cvtsudoers` run per accepted
//! input: slow, but it is sudo's own parser that decides.
#![no_main]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use elevated::config::policy_file::parse_policy_files;
use elevated::grant::sudoers::{check_command, render, SudoRule};
use elevated::grant::{GrantCommand, GrantSpec, SudoGrant};
use elevated_proto::{GrantId, RoleName, UserName};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The input, as text: fields separated by NUL bytes,
///
/// `user \0 runas \0 role \0 id \0 mode \0 starts_at \0 expires_at \0 command \0 ...`
///
/// `mode` holds `n` for NOPASSWD and `p` to read the commands as policy
/// `sudo.commands` entries. Otherwise each command is `ALL`, or a path
/// with its arguments separated by 0x1f bytes (so that arguments can hold
/// blanks and newlines): `path` alone allows any arguments, `path` 0x1f
/// none at all. Times are Unix milliseconds.
struct Input<'a> {
    user: &'a str,
    runas: &'a str,
    role: &'a str,
    id: &'a str,
    nopasswd: bool,
    via_policy: bool,
    starts_at: i64,
    expires_at: i64,
    commands: Vec<&'a str>,
}

impl<'a> Input<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let text = std::str::from_utf8(data).ok()?;
        let mut f = text.split('\0');
        let (user, runas, role, id, mode) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
        let starts_at = f.next()?.parse().ok()?;
        let expires_at = f.next()?.parse().ok()?;
        Some(Self {
            user,
            runas,
            role,
            id,
            nopasswd: mode.contains('n'),
            via_policy: mode.contains('p'),
            starts_at,
            expires_at,
            commands: f.collect(),
        })
    }
}

fn direct(c: &str) -> GrantCommand {
    if c == "ALL" {
        return GrantCommand::All;
    }
    let mut parts = c.split('\x1f');
    let path = parts.next().unwrap_or_default().to_owned();
    let args: Vec<String> = parts.map(str::to_owned).collect();
    let args = match args.as_slice() {
        [] => None,
        [only] if only.is_empty() => Some(Vec::new()),
        _ => Some(args),
    };
    GrantCommand::Path { path, args }
}

fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a scratch directory"))
        .path()
}

/// TOML basic string (JSON's escapes are all valid TOML).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The role's sudo rights as the policy loader reads them.
fn via_policy(role: &str, runas: &str, nopasswd: bool, cmds: &[&str]) -> Option<SudoGrant> {
    let list: Vec<String> = cmds.iter().map(|c| quoted(c)).collect();
    let text = format!(
        "[roles.{}]\nsudo = {{ runas = {}, commands = [{}], nopasswd = {nopasswd} }}\n",
        quoted(role),
        quoted(runas),
        list.join(", ")
    );
    let files = vec![(PathBuf::from("/etc/elevated/policy.d/10-fuzz.toml"), text)];
    let policy = parse_policy_files(&files).ok()?;
    let name = RoleName::parse(role).ok()?;
    let role = policy.roles.get(&name).expect("the role parsed");
    GrantSpec::from_role(role).sudo
}

fn run(program: &str, args: &[&str], file: &Path) -> (bool, String, String) {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What sudo must make of the rule.
fn check_with_sudo(text: &str, user: &UserName, sudo: &SudoGrant, notafter: &str) {
    let file = scratch().join("elevated_fuzz");
    std::fs::write(&file, text).expect("writing the drop-in");
    let (ok, out, err) = run("visudo", &["-c", "-f"], &file);
    assert!(ok, "visudo rejects the rendered rule:\n{text}\n{out}{err}");

    let (ok, out, err) = run("cvtsudoers", &["-f", "json"], &file);
    assert!(ok, "cvtsudoers fails on:\n{text}\n{err}");
    let json: Value = serde_json::from_str(&out).expect("cvtsudoers writes JSON");
    let specs = json["User_Specs"].as_array().expect("User_Specs");
    assert_eq!(specs.len(), 1, "not exactly one rule:\n{text}\n{out}");
    let spec = &specs[0];
    assert_eq!(
        spec["User_List"],
        serde_json::json!([{ "username": user.as_str() }]),
        "{text}"
    );
    assert_eq!(
        spec["Host_List"],
        serde_json::json!([{ "hostname": "ALL" }])
    );
    let cmnd = spec["Cmnd_Specs"].as_array().expect("Cmnd_Specs");
    assert_eq!(cmnd.len(), 1, "{text}\n{out}");
    let c = &cmnd[0];
    assert_eq!(
        c["runasusers"],
        serde_json::json!([{ "username": sudo.runas.as_str() }]),
        "{text}"
    );
    let options = c["Options"].as_array().expect("Options");
    assert!(
        options.contains(&serde_json::json!({ "notafter": notafter })),
        "NOTAFTER is not {notafter}:\n{text}\n{out}"
    );
    assert!(
        options.contains(&serde_json::json!({ "authenticate": !sudo.nopasswd })),
        "{text}\n{out}"
    );
    let got: Vec<&str> = c["Commands"]
        .as_array()
        .expect("Commands")
        .iter()
        .map(|v| v["command"].as_str().expect("a command line"))
        .collect();
    let want: Vec<String> = sudo.commands.iter().map(GrantCommand::display).collect();
    assert_eq!(got, want, "sudo reads other commands:\n{text}\n{out}");
    assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{out}");
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let (Ok(user), Ok(id), Ok(runas)) = (
        UserName::parse(input.user),
        GrantId::parse(input.id),
        UserName::parse(input.runas),
    ) else {
        return;
    };
    let sudo = if input.via_policy {
        match via_policy(input.role, runas.as_str(), input.nopasswd, &input.commands) {
            Some(s) => s,
            None => return,
        }
    } else {
        SudoGrant {
            runas,
            nopasswd: input.nopasswd,
            commands: input.commands.iter().map(|c| direct(c)).collect(),
        }
    };
    let rule = SudoRule {
        id: &id,
        role: input.role,
        user: &user,
        sudo: &sudo,
        starts_at: input.starts_at,
        expires_at: input.expires_at,
    };
    let Ok(text) = render(&rule) else {
        return;
    };
    for c in &sudo.commands {
        assert!(
            check_command(c).is_ok(),
            "rendered a command check_command refuses"
        );
    }
    let rules: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(rules.len(), 1, "{text}");
    assert!(rules[0].starts_with(&format!("{user} ")), "{text}");
    let notafter = rules[0]
        .split(' ')
        .find_map(|w| w.strip_prefix("NOTAFTER="))
        .unwrap_or_else(|| panic!("no NOTAFTER in {text}"))
        .to_owned();
    let end = jiff::Timestamp::from_millisecond(input.expires_at).expect("rendered a valid time");
    assert_eq!(notafter, end.strftime("%Y%m%d%H%M%SZ").to_string());
    check_with_sudo(&text, &user, &sudo, &notafter);
});
