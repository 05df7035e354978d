//! The packages: build both with `scripts/package`; install, run and purge
//! the .deb on this host; check the .rpm's paths and run its scriptlets in a
//! scratch root; lintian; the shipped units' verification and exposure.
//! The installed daemon serves through the packaged units where systemd is
//! PID 1, and is started by hand, confined like the unit confines it,
//! elsewhere.
//!
//! Installing touches the real /usr, /etc and /var/lib. The test refuses to
//! run when the package is already installed by someone else, and marks its
//! own installation with a host attribute file named with the test prefix,
//! so `scripts/clean-test-leftovers` can purge what an interrupted run left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use elevated_tests::daemon::text;
use elevated_tests::packages::{
    bounding_set, confined, documented_lintian_tags, dpkg_installed, dropins, exposure,
    lintian_tags, mode, ok, packages, run, workspace, InstalledDaemon, ScratchRoot, MAX_EXPOSURE,
};
use elevated_tests::{as_user, require_root, TestGroup, TestUser};

/// Marks an installation made by this test (removed by the purge).
const MARKER: &str = "/etc/elevated/host.d/elvt-packaging.toml";
/// The test's policy: a role for a test group.
const POLICY: &str = "/etc/elevated/policy.d/50-elvt-packaging.toml";

/// Paths both packages carry, apart from those that differ by distribution.
const COMMON: &[&str] = &[
    "/usr/sbin/elevated",
    "/usr/bin/elevate",
    "/usr/lib/tmpfiles.d/elevated.conf",
    "/usr/share/dbus-1/system.d/org.elevated.Elevated1.conf",
    "/etc/elevated/elevated.toml",
    "/etc/elevated/policy.d/00-example.toml",
    "/etc/pam.d/elevate",
    "/usr/share/man/man1/elevate.1.gz",
    "/usr/share/man/man8/elevated.8.gz",
    "/usr/share/man/man8/pam_elevate.8.gz",
    "/usr/share/man/man5/elevated.toml.5.gz",
    "/usr/share/bash-completion/completions/elevate",
    "/usr/share/fish/vendor_completions.d/elevate.fish",
    "/usr/share/doc/elevated/README.md",
    "/usr/share/doc/elevated/packaging.md",
    "/usr/share/doc/elevated/hardening.md",
];
const CONFFILES: &[&str] = &[
    "/etc/elevated/elevated.toml",
    "/etc/elevated/policy.d/00-example.toml",
    "/etc/pam.d/elevate",
];

/// Purges the package when dropped, so a failing test leaves nothing.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        if dpkg_installed() {
            let _ = Command::new("dpkg").args(["-P", "elevated"]).status();
        }
    }
}

#[test]
fn deb_installs_serves_and_purges_without_leftovers() {
    require_root();
    let pkgs = packages();
    if dpkg_installed() {
        assert!(
            Path::new(MARKER).exists(),
            "package elevated is installed on this host; this test installs and purges it: run `dpkg -P elevated` first"
        );
        ok(Command::new("dpkg").args(["-P", "elevated"]));
    }
    assert!(
        dropins().is_empty(),
        "elevated_* drop-ins present before the test: {:?}",
        dropins()
    );

    ok(Command::new("dpkg")
        .arg("-i")
        .arg(&pkgs.deb)
        .env("DEBIAN_FRONTEND", "noninteractive"));
    let _installed = Installed;
    fs::create_dir_all("/etc/elevated/host.d").unwrap();
    fs::write(MARKER, "tags = { elvt = \"packaging-test\" }\n").unwrap();

    let listed = ok(Command::new("dpkg").args(["-L", "elevated"]));
    let mut expected: Vec<&str> = COMMON.to_vec();
    expected.extend([
        "/lib/systemd/system/elevated.service",
        "/lib/systemd/system/elevated.socket",
        "/usr/share/zsh/vendor-completions/_elevate",
        "/usr/share/doc/elevated/changelog.Debian.gz",
        "/usr/share/doc/elevated/copyright",
    ]);
    if pkgs.with_pam {
        expected.extend([
            "/usr/lib/x86_64-linux-gnu/security/pam_elevate.so",
            "/usr/share/pam-configs/elevate",
        ]);
    }
    for path in &expected {
        assert!(
            listed.lines().any(|l| l == *path),
            "{path} not in dpkg -L:\n{listed}"
        );
        assert!(Path::new(path).exists(), "{path} not installed");
    }
    let conffiles = ok(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "elevated"]));
    for c in CONFFILES {
        assert!(conffiles.contains(c), "{c} is not a conffile: {conffiles}");
    }
    assert_eq!(mode("/var/lib/elevated"), 0o700);
    assert_eq!(mode("/usr/sbin/elevated"), 0o755);

    // The example configuration is valid and grants nothing.
    let out = ok(Command::new("/usr/sbin/elevated").arg("check-config"));
    assert!(
        out.contains("configuration OK") && out.contains("0 rules"),
        "{out}"
    );
    let out = run(Command::new("/usr/sbin/elevated").args([
        "explain",
        "--user",
        "root",
        "--role",
        "example-ops",
    ]));
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));

    check_units();
    check_confinement();

    // The installed daemon, confined like the unit confines it, serves a
    // grant into the real /etc/sudoers.d.
    let group = TestGroup::new("pkg");
    let user = TestUser::new("pkgu", &[&group]);
    // The role also adds a group: memberships carry no NOTAFTER, so only
    // the package's removal script can take this one back.
    let granted = TestGroup::new("pkgg");
    fs::write(
        POLICY,
        format!(
            "[roles.elvt-pkg]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\ngroups = [\"{}\"]\n\n\
             [[rules]]\nrole = \"elvt-pkg\"\nwho = {{ groups = [\"{}\"] }}\n",
            granted.name, group.name
        ),
    )
    .unwrap();
    let mut daemon = InstalledDaemon::start();
    let out = as_user(
        &user,
        "/usr/bin/elevate",
        &[
            "--socket",
            daemon.socket(),
            "--json",
            "request",
            "elvt-pkg",
            "--for",
            "10m",
            "--reason",
            "packaging test",
        ],
    )
    .stdin(Stdio::null())
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "elevate request: {stdout}\n{stderr}\n{}",
        daemon.log()
    );
    let view: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(view["state"], "active", "{view}");
    let grant = format!("elevated_{}", view["id"].as_str().unwrap());
    assert_eq!(dropins(), vec![grant.clone()]);
    assert_eq!(mode(&format!("/etc/sudoers.d/{grant}")), 0o440);
    assert!(
        group_members(&granted.name).contains(&user.name),
        "the grant added no membership"
    );
    daemon.stop();

    // A drop-in no daemon knows of goes too.
    let stray = "/etc/sudoers.d/elevated_elvtstray";
    fs::write(
        stray,
        format!(
            "{} ALL=(root) NOTAFTER=20991231000000Z NOPASSWD: /usr/bin/id\n",
            user.name
        ),
    )
    .unwrap();
    fs::set_permissions(stray, fs::Permissions::from_mode(0o440)).unwrap();
    ok(Command::new("visudo").arg("-c"));

    ok(Command::new("dpkg")
        .args(["-P", "elevated"])
        .env("DEBIAN_FRONTEND", "noninteractive"));
    assert!(!dpkg_installed());
    assert_eq!(
        dropins(),
        Vec::<String>::new(),
        "grants outlived the package"
    );
    assert!(
        !group_members(&granted.name).contains(&user.name),
        "a group membership outlived the package"
    );
    ok(Command::new("visudo").arg("-c"));
    for gone in [
        "/etc/elevated",
        "/var/lib/elevated",
        "/usr/sbin/elevated",
        "/usr/bin/elevate",
    ]
    .iter()
    .chain(expected.iter())
    {
        assert!(!Path::new(gone).exists(), "{gone} is left after purge");
    }
    let units = ok(Command::new("find").args(["/etc/systemd/system", "-name", "elevated.*"]));
    assert!(
        units.trim().is_empty(),
        "unit links left after purge:\n{units}"
    );
}

/// `systemd-analyze verify` and `security` on the installed units.
fn check_units() {
    let service = Path::new("/lib/systemd/system/elevated.service");
    let socket = Path::new("/lib/systemd/system/elevated.socket");
    let has_man = run(Command::new("sh").args(["-c", "command -v man"]))
        .status
        .success();
    let out = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(if has_man { "--man=yes" } else { "--man=no" })
        .arg(service)
        .arg(socket));
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "verify: {stdout}\n{stderr}"
    );
    let figure = exposure(service);
    eprintln!("systemd-analyze security: elevated.service exposure {figure}");
    assert!(figure <= MAX_EXPOSURE, "exposure {figure} > {MAX_EXPOSURE}");
}

/// `gpasswd` and `visudo` work as the daemon runs them: no new privileges,
/// only the unit's capabilities.
fn check_confinement() {
    let caps = bounding_set(Path::new("/lib/systemd/system/elevated.service"));
    let group = TestGroup::new("gp");
    let user = TestUser::new("gpu", &[]);
    ok(confined(&caps, "gpasswd").args(["-a", &user.name, &group.name]));
    let members = ok(Command::new("getent").args(["group", &group.name]));
    assert!(members.trim_end().ends_with(&user.name), "{members}");
    ok(confined(&caps, "gpasswd").args(["-d", &user.name, &group.name]));
    ok(confined(&caps, "visudo").arg("-c"));
}

#[test]
fn rpm_lists_its_paths_and_its_scriptlets_run_in_a_scratch_root() {
    require_root();
    let pkgs = packages();
    let listed = ok(Command::new("rpm").arg("-qpl").arg(&pkgs.rpm));
    let mut expected: Vec<&str> = COMMON.to_vec();
    expected.extend([
        "/usr/lib/systemd/system/elevated.service",
        "/usr/lib/systemd/system/elevated.socket",
        "/usr/share/zsh/site-functions/_elevate",
    ]);
    if pkgs.with_pam {
        expected.push("/usr/lib64/security/pam_elevate.so");
    }
    for path in &expected {
        assert!(
            listed.lines().any(|l| l == *path),
            "{path} not in rpm -qpl:\n{listed}"
        );
    }
    assert!(
        !listed.contains("pam-configs"),
        "pam-auth-update is Debian's:\n{listed}"
    );
    let config = ok(Command::new("rpm").arg("-qpc").arg(&pkgs.rpm));
    let mut config: Vec<&str> = config.lines().collect();
    config.sort_unstable();
    assert_eq!(config, CONFFILES);
    // Scriptlets are the shell in packaging/rpm/, not a file name.
    let scripts = ok(Command::new("rpm")
        .args(["-qp", "--scripts"])
        .arg(&pkgs.rpm));
    for needle in [
        "mkdir -p /var/lib/elevated",
        "systemctl stop elevated.service",
        "/etc/sudoers.d/elevated_*",
    ] {
        assert!(
            scripts.contains(needle),
            "{needle} not in the scriptlets:\n{scripts}"
        );
    }

    // Install and erase WITH scriptlets into a scratch root.
    let scratch = ScratchRoot::new();
    let root = scratch.path();
    ok(Command::new("rpm").arg("--root").arg(root).arg("--initdb"));
    rpm_in(root, &["-i", "--nodeps", "--force-debian"], &pkgs.rpm);
    let state = root.join("var/lib/elevated");
    assert_eq!(
        fs::metadata(&state).unwrap().permissions().mode() & 0o7777,
        0o700
    );
    assert!(root.join("usr/sbin/elevated").exists());
    let stray = root.join("etc/sudoers.d/elevated_elvtstray");
    fs::write(&stray, "root ALL=(ALL) ALL\n").unwrap();
    rpm_in(root, &["-e", "--nodeps"], Path::new("elevated"));
    assert!(!stray.exists(), "rpm -e left a grant behind");
    assert!(!state.exists(), "rpm -e left the store behind");
    assert!(
        !root.join("etc/elevated").exists(),
        "rpm -e left /etc/elevated"
    );
    assert!(!root.join("usr/sbin/elevated").exists());
}

/// `rpm ARGS --root ROOT WHAT`, which must succeed with every scriptlet
/// (a failing scriptlet is only a warning to rpm; the shell names its
/// temporary script file in any error).
fn rpm_in(root: &Path, args: &[&str], what: &Path) {
    let out = run(Command::new("rpm")
        .args(args)
        .arg("--root")
        .arg(root)
        .arg(what));
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && !stderr.contains("scriptlet") && !stderr.contains("rpm-tmp"),
        "rpm {args:?}: {stdout}\n{stderr}"
    );
}

#[test]
fn lintian_tags_left_are_justified_in_the_docs() {
    let pkgs = packages();
    let tags = lintian_tags(&pkgs.deb);
    eprintln!("lintian tags: {tags:?}");
    let documented = documented_lintian_tags();
    let unexplained: Vec<&String> = tags
        .iter()
        .filter(|t| !documented.iter().any(|d| t.ends_with(&format!(": {d}"))))
        .collect();
    assert!(
        unexplained.is_empty(),
        "lintian tags not justified in docs/packaging.md (## Lintian): {unexplained:?}"
    );
}

#[test]
fn package_metadata_is_consistent() {
    let manifest: toml::Value =
        toml::from_str(&fs::read_to_string(workspace().join("daemon/Cargo.toml")).unwrap())
            .unwrap();
    let meta = &manifest["package"]["metadata"];
    // Both packages ship the PAM module and (deb) its pam-auth-update
    // profile; there is no variant without them.
    let is_pam = |src: &str| src.contains("pam_elevate") || src.contains("pam-configs");
    let deb_pam = meta["deb"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| is_pam(a[0].as_str().unwrap()))
        .count();
    assert_eq!(deb_pam, 2);
    let rpm_pam = meta["generate-rpm"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| is_pam(a["source"].as_str().unwrap()))
        .count();
    assert_eq!(rpm_pam, 1);
    assert!(meta["deb"].get("variants").is_none());
    assert!(meta["generate-rpm"].get("variants").is_none());
    // The Debian changelog names the version being packaged.
    let changelog = fs::read_to_string(workspace().join("packaging/debian/changelog")).unwrap();
    let version = format!("elevated ({}-1)", env!("CARGO_PKG_VERSION"));
    assert!(
        changelog.starts_with(&version),
        "packaging/debian/changelog must start with {version}"
    );
}

/// The members `/etc/group` lists for `group`.
fn group_members(group: &str) -> Vec<String> {
    let line = ok(Command::new("getent").args(["group", group]));
    line.trim()
        .rsplit(':')
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}
