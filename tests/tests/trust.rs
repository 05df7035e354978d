//! What the root daemon trusts: hooks, configuration directories, its
//! state directory and its socket (DESIGN rule 9).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::{chown, symlink, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use elevated_tests::daemon::text;
use elevated_tests::{as_user, require_root, Daemon, TestUser};

fn mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

/// A root-owned 0755 directory for hooks, outside the daemon's own.
fn hook_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new().prefix("elvt-").tempdir().unwrap();
    mode(d.path(), 0o755);
    d
}

fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    mode(path, 0o755);
}

fn hook_settings(hook: &Path) -> String {
    format!("[[notify.command]]\ncommand = \"{}\"\n", hook.display())
}

/// A policy that approves `user`'s `ops` requests at once.
fn auto_policy(d: &Daemon, user: &TestUser) {
    d.policy(
        "10-ops.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n[[rules]]\nrole = \"ops\"\n\
             who = {{ users = [\"{}\"] }}\n",
            user.name
        ),
    );
}

fn wait_for_log(d: &Daemon, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let log = d.log_text();
        if log.contains(needle) || start.elapsed() > Duration::from_secs(20) {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_config(d: &Daemon) -> (Option<i32>, String) {
    let out = d.elevated_cmd(&["check-config"]);
    let (stdout, stderr) = text(&out);
    (out.status.code(), format!("{stdout}{stderr}"))
}

/// The reported attack: the hook's path swapped for a link to a shell,
/// which runs the event JSON (and the requester's reason in it) as root.
#[test]
fn a_hook_swapped_for_a_symlink_is_refused_and_never_runs() {
    require_root();
    let alice = TestUser::new("hs", &[]);
    let hooks = hook_dir();
    let hook = hooks.path().join("page");
    let seen = hooks.path().join("seen.json");
    write_script(
        &hook,
        &format!("cat > {0}.tmp; mv {0}.tmp {0}", seen.display()),
    );
    let mut d = Daemon::new(&hook_settings(&hook));
    // Pending requests notify the hooks.
    d.policy(
        "10-ops.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n[[rules]]\nrole = \"ops\"\n\
             who = {{ users = [\"{}\"] }}\napproval = {{ count = 1, approvers = {{ users = [\"root\"] }} }}\n",
            alice.name
        ),
    );
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(0), "{out}");
    d.start();
    // A trusted shell-script hook runs (through its checked descriptor).
    let out = d.elevate(
        Some(&alice),
        &["--json", "request", "ops", "--no-wait", "--reason", "first"],
    );
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let start = Instant::now();
    while !seen.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let event: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&seen).unwrap()).unwrap();
    assert_eq!(event["event"], "request_created");
    assert_eq!(event["reason"], "first");

    fs::remove_file(&hook).unwrap();
    symlink("/bin/sh", &hook).unwrap();
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{}: [[notify.command]] 1 cannot be trusted to run as root: is a symbolic link",
            hook.display()
        )),
        "{out}"
    );

    // The running daemon checks again before every run (of a new request:
    // the first one is withdrawn, a role is not asked for twice).
    let id = first["id"].as_str().unwrap();
    let out = d.elevate(Some(&alice), &["cancel", id]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let marker = d.dir.path().join("ran");
    let reason = format!("$(touch {})", marker.display());
    let out = d.elevate(
        Some(&alice),
        &["request", "ops", "--no-wait", "--reason", &reason],
    );
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    let log = wait_for_log(&d, "refusing to run");
    assert!(log.contains("is a symbolic link"), "{log}");
    assert!(!marker.exists(), "the linked shell ran the reason as root");
}

#[test]
fn a_hook_in_a_directory_a_user_can_write_is_refused_and_never_runs() {
    require_root();
    let mallory = TestUser::new("hw", &[]);
    let hooks = hook_dir();
    let hook = hooks.path().join("page");
    let marker = hooks.path().join("ran");
    write_script(&hook, &format!("touch {}", marker.display()));
    chown(hooks.path(), Some(mallory.uid), Some(mallory.gid)).unwrap();
    let mut d = Daemon::new(&hook_settings(&hook));
    auto_policy(&d, &mallory);

    // The owner of the directory can replace the root-owned hook.
    let ln = as_user(
        &mallory,
        "/bin/ln",
        &["-sfn", "/bin/sh", hook.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(ln.status.success(), "{ln:?}");
    fs::remove_file(&hook).unwrap();
    write_script(&hook, &format!("touch {}", marker.display()));

    let (code, out) = check_config(&d);
    assert_eq!(code, Some(1), "{out}");
    let want = format!(
        "{} is owned by uid {}, not by root; run: chown root:root {}",
        hooks.path().display(),
        mallory.uid,
        hooks.path().display()
    );
    assert!(out.contains(&want), "{out}");
    // The daemon does not start with it either.
    assert!(d.try_start_with(&[], &[]).is_err());
    assert!(d.log_text().contains(&want), "{}", d.log_text());

    // Root's directory, but writable by group or others: the same.
    chown(hooks.path(), Some(0), Some(0)).unwrap();
    for m in [0o775, 0o777, 0o1777] {
        mode(hooks.path(), m);
        let (code, out) = check_config(&d);
        assert_eq!(code, Some(1), "mode {m:o}: {out}");
        assert!(
            out.contains("others may write") || out.contains("writable by group or others"),
            "{out}"
        );
    }
    assert!(!marker.exists(), "a refused hook ran");
    mode(hooks.path(), 0o755);
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn config_directories_others_could_write_are_refused() {
    require_root();
    let alice = TestUser::new("cd", &[]);
    let d = Daemon::new("");
    // A deny rule: deleting it would flip `explain` to allow.
    d.policy(
        "10-ops.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n[[rules]]\nrole = \"ops\"\n\n\
             [[rules]]\nrole = \"ops\"\neffect = \"deny\"\nwho = {{ users = [\"{}\"] }}\n",
            alice.name
        ),
    );
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(0), "{out}");
    let root = d.dir.path().to_path_buf();
    let mut dirs: Vec<PathBuf> = ["policy.d", "users.d", "host.d"]
        .iter()
        .map(|s| root.join(s))
        .collect();
    // And a directory above them.
    dirs.push(root.clone());
    for dir in &dirs {
        for m in [0o775, 0o757] {
            mode(dir, m);
            let (code, out) = check_config(&d);
            assert_eq!(code, Some(1), "{} {m:o}: {out}", dir.display());
            let want = format!(
                "is writable by group or others; run: chmod go-w {}",
                dir.display()
            );
            assert!(out.contains(&want), "{out}");
            let ex = d.elevated_cmd(&["explain", "--user", &alice.name, "--role", "ops"]);
            let (stdout, stderr) = text(&ex);
            assert!(!stdout.contains("decision: allow"), "{stdout}");
            assert!(stderr.contains(&want), "{stderr}");
        }
        mode(dir, 0o755);
        chown(dir, Some(alice.uid), None).unwrap();
        let (code, out) = check_config(&d);
        assert_eq!(code, Some(1), "{}: {out}", dir.display());
        assert!(
            out.contains(&format!(
                "is owned by uid {}, not by root; run: chown root:root {}",
                alice.uid,
                dir.display()
            )),
            "{out}"
        );
        chown(dir, Some(0), None).unwrap();
    }
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_missing_users_or_host_directory_is_an_error_when_rules_need_it() {
    require_root();
    let d = Daemon::new("");
    fs::remove_dir(d.dir.path().join("users.d")).unwrap();
    fs::remove_dir(d.dir.path().join("host.d")).unwrap();
    d.policy(
        "10-ops.toml",
        "[roles.ops]\nsudo = { commands = [\"/usr/bin/id\"] }\n\n[[rules]]\nrole = \"ops\"\n",
    );
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(0), "no rule needs them: {out}");
    d.policy(
        "20-deny.toml",
        "[[rules]]\nrole = \"ops\"\neffect = \"deny\"\nwho = { attributes = { status = [\"suspended\"] } }\n\n\
         [[rules]]\nrole = \"ops\"\neffect = \"deny\"\nwhere = { tags = { env = [\"production\"] } }\n",
    );
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(1), "{out}");
    for (dir, what) in [("users.d", "who.attributes"), ("host.d", "where.tags")] {
        let want = format!(
            "{}: does not exist, but 20-deny.toml rule",
            d.dir.path().join(dir).display()
        );
        assert!(out.contains(&want) && out.contains(what), "{out}");
    }
    for dir in ["users.d", "host.d"] {
        fs::create_dir(d.dir.path().join(dir)).unwrap();
        mode(&d.dir.path().join(dir), 0o755);
    }
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn the_daemon_refuses_a_state_directory_others_can_reach() {
    require_root();
    let nobody = TestUser::new("sd", &[]);
    let mut d = Daemon::new("");
    let state = d.dir.path().join("state");
    fs::create_dir(&state).unwrap();
    mode(&state, 0o755);
    assert!(
        d.try_start_with(&[], &[]).is_err(),
        "started with a 0755 state directory"
    );
    let want = format!(
        "refusing to use the state directory: {0} is mode 0755; it must be accessible by root only: run: chmod 0700 {0}",
        state.display()
    );
    assert!(d.log_text().contains(&want), "{}", d.log_text());

    mode(&state, 0o700);
    chown(&state, Some(nobody.uid), None).unwrap();
    assert!(
        d.try_start_with(&[], &[]).is_err(),
        "started with a state directory not root's"
    );
    assert!(
        d.log_text().contains(&format!(
            "{} is owned by uid {}, not by root",
            state.display(),
            nobody.uid
        )),
        "{}",
        d.log_text()
    );
    chown(&state, Some(0), None).unwrap();
    d.start();
}

#[test]
fn database_files_are_root_only_under_umask_022() {
    require_root();
    let alice = TestUser::new("um", &[]);
    let mut d = Daemon::new("");
    auto_policy(&d, &alice);
    d.start_with(&["/bin/sh", "-c", "umask 022; exec \"$0\" \"$@\""], &[]);
    let out = d.elevate(Some(&alice), &["request", "ops", "--reason", "x"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    for f in ["elevated.db", "elevated.db-wal", "elevated.db-shm"] {
        let p = d.dir.path().join("state").join(f);
        let m = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o600, "{}: {m:o}", p.display());
    }
    let m = fs::metadata(d.dir.path().join("state"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(m & 0o777, 0o700);
}

#[test]
fn stopping_leaves_a_socket_that_replaced_ours_in_place() {
    require_root();
    let mut d = Daemon::new("");
    d.start();
    // Another daemon (or anything else) now serves the path.
    let other = d.socket.with_file_name("other.sock");
    let listener = UnixListener::bind(&other).unwrap();
    fs::rename(&other, &d.socket).unwrap();
    d.stop();
    assert!(
        UnixStream::connect(&d.socket).is_ok(),
        "the daemon removed a socket that was no longer its own"
    );
    drop(listener);
    // Its own socket it still removes.
    fs::remove_file(&d.socket).unwrap();
    d.start();
    d.stop();
    assert!(!d.socket.exists(), "the daemon left its own socket behind");
}

#[test]
fn visudo_and_gpasswd_are_held_to_the_same_rule() {
    require_root();
    let d = Daemon::new("");
    let tools = hook_dir();
    let link = tools.path().join("gpasswd");
    symlink("/usr/bin/gpasswd", &link).unwrap();
    let cfg = fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        &format!(
            "[daemon]\ngpasswd = \"{}\"\nvisudo = \"{}\"\n",
            link.display(),
            tools.path().join("visudo").display()
        ),
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
    let visudo = tools.path().join("visudo");
    fs::copy("/usr/sbin/visudo", &visudo).unwrap();
    mode(&visudo, 0o775);
    let (code, out) = check_config(&d);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{}: [daemon] gpasswd cannot be trusted to run as root: is a symbolic link",
            link.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}: [daemon] visudo cannot be trusted to run as root: is writable by group or others",
            visudo.display()
        )),
        "{out}"
    );
}
