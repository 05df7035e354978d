//! The .deb and .rpm built by `scripts/package`, and the tools that inspect
//! them: systemd-analyze, lintian, rpm, setpriv.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::bin_dir;
use crate::daemon::text;

/// The built packages.
#[derive(Debug)]
pub struct Packages {
    pub deb: PathBuf,
    pub rpm: PathBuf,
    /// Whether the PAM module was built, so the packages carry it.
    pub with_pam: bool,
}

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The cargo target directory the tests were built in.
pub fn target_dir() -> PathBuf {
    bin_dir().parent().unwrap().to_path_buf()
}

/// Runs a command and returns its output; panics if it cannot be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command that must succeed; returns its stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// Builds both packages once per test binary with `scripts/package
/// --debug-binaries`.
pub fn packages() -> &'static Packages {
    static BUILT: OnceLock<Packages> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = target_dir();
        // The debug binaries the test run already built: what the packages
        // install and do is the same, and a release build would double the
        // run's build time. scripts/package without the flag is for release.
        let out = run(Command::new(workspace().join("scripts/package"))
            .arg("--debug-binaries")
            .current_dir(workspace())
            .env("CARGO_TARGET_DIR", &target));
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "scripts/package failed:\n{stdout}\n{stderr}"
        );
        let dir = target.join("packages");
        let find = |ext: &str| {
            let found: Vec<PathBuf> = fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect();
            assert_eq!(found.len(), 1, "one .{ext} in {}: {found:?}", dir.display());
            found[0].clone()
        };
        Packages {
            deb: find("deb"),
            rpm: find("rpm"),
            with_pam: target
                .join("package-debug/release/libpam_elevate.so")
                .exists(),
        }
    })
}

/// The highest `systemd-analyze security` exposure the shipped
/// `elevated.service` may have (lower is better; 10 is unconfined). The
/// packaging test checks it offline, the container test on a real systemd.
pub const MAX_EXPOSURE: f64 = 3.5;

/// `systemd-analyze security --offline=yes UNIT`: the overall exposure.
pub fn exposure(unit: &Path) -> f64 {
    let out = ok(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(unit));
    exposure_in(&out)
}

/// The exposure figure in `systemd-analyze security` output (offline on a
/// unit file here, online inside the container tests).
pub fn exposure_in(out: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure in:\n{out}"));
    // "→ Overall exposure level for elevated.service: 3.2 OK :-)": the
    // first word that is a number (the smiley has a colon of its own).
    line.split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no figure in {line:?}"))
}

/// `CapabilityBoundingSet=` of a unit file, as `setpriv` spells them
/// (`chown`, `kill`, ...).
pub fn bounding_set(unit: &Path) -> Vec<String> {
    let body = fs::read_to_string(unit).unwrap();
    let line = body
        .lines()
        .find(|l| l.starts_with("CapabilityBoundingSet="))
        .expect("CapabilityBoundingSet= in the unit");
    line.trim_start_matches("CapabilityBoundingSet=")
        .split_whitespace()
        .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
        .collect()
}

/// A command run the way the unit runs the daemon: no new privileges and
/// only the given capabilities in the bounding set.
pub fn confined(caps: &[String], program: &str) -> Command {
    let mut set = String::from("-all");
    for c in caps {
        set.push_str(",+");
        set.push_str(c);
    }
    let mut cmd = Command::new("setpriv");
    cmd.args(["--no-new-privs", "--inh-caps=-all", "--bounding-set", &set])
        .arg("--")
        .arg(program);
    cmd
}

/// The tags `lintian` reports for a package, as `X: tag-name` (X the
/// severity letter), deduplicated.
pub fn lintian_tags(deb: &Path) -> Vec<String> {
    let out = run(Command::new("lintian")
        .args(["--no-tag-display-limit", "--display-info"])
        .arg(deb));
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "lintian could not run:\n{stdout}\n{stderr}"
    );
    let mut tags: Vec<String> = stdout
        .lines()
        .filter_map(|l| {
            let (sev, rest) = l.split_once(": ")?;
            let (_pkg, rest) = rest.split_once(": ")?;
            let tag = rest.split_whitespace().next()?;
            (sev.len() == 1).then(|| format!("{sev}: {tag}"))
        })
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// The lintian tag names `docs/packaging.md` justifies: every back-quoted
/// word in the first column of the table below its "## Lintian" heading.
pub fn documented_lintian_tags() -> Vec<String> {
    let doc = fs::read_to_string(workspace().join("docs/packaging.md")).unwrap();
    doc.lines()
        .skip_while(|l| !l.starts_with("## Lintian"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

/// A directory holding just enough of a system for RPM scriptlets: `/bin/sh`,
/// `/dev/null` and the few tools they use, with their shared libraries.
pub struct ScratchRoot {
    pub dir: tempfile::TempDir,
}

impl ScratchRoot {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("elvt-rpmroot-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
        for sub in [
            "bin",
            "usr/bin",
            "dev",
            "etc/sudoers.d",
            "tmp",
            "var/tmp",
            "run",
        ] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        ok(Command::new("mknod")
            .args(["-m", "666"])
            .arg(root.join("dev/null"))
            .args(["c", "1", "3"]));
        let sh = ["/bin/dash", "/bin/sh"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("a POSIX shell");
        copy_with_libs(sh, root, "bin/sh");
        for tool in ["mkdir", "chmod", "chown", "rm", "rmdir", "ls"] {
            let path = ["/bin", "/usr/bin"]
                .into_iter()
                .map(|d| format!("{d}/{tool}"))
                .find(|p| Path::new(p).exists())
                .unwrap_or_else(|| panic!("{tool} not found"));
            copy_with_libs(&path, root, &format!("bin/{tool}"));
        }
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for ScratchRoot {
    fn default() -> Self {
        Self::new()
    }
}

/// Copies `program` to `root/dest` and every library `ldd` names to the
/// same path below `root`.
fn copy_with_libs(program: &str, root: &Path, dest: &str) {
    fs::copy(program, root.join(dest)).unwrap();
    let libs = ok(Command::new("ldd").arg(program));
    for lib in libs.split_whitespace().filter(|w| w.starts_with('/')) {
        let to = root.join(lib.trim_start_matches('/'));
        if !to.exists() {
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(lib, &to).unwrap();
        }
    }
}

/// Whether systemd is the init system here (the maintainer scripts' test).
pub fn systemd_runs() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// The installed daemon. Where systemd runs it is the packaged units,
/// restarted so that they read the test's policy; elsewhere it is
/// `/usr/sbin/elevated` started by hand, confined as the unit confines it,
/// on a short-lived settings file that moves only the socket.
pub struct InstalledDaemon {
    child: Option<Child>,
    dir: tempfile::TempDir,
    socket: String,
}

impl InstalledDaemon {
    /// Starts it and waits until `/usr/bin/elevate status` is answered.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("elvt-pkg-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let mut served = if systemd_runs() {
            // Type=notify: returns once the daemon said READY=1.
            ok(Command::new("systemctl").args(["restart", "elevated.socket", "elevated.service"]));
            Self {
                child: None,
                dir,
                socket: "/run/elevated/elevated.sock".to_owned(),
            }
        } else {
            let socket = dir.path().join("elevated.sock").display().to_string();
            let config = dir.path().join("elevated.toml");
            fs::write(&config, format!("[daemon]\nsocket = \"{socket}\"\n")).unwrap();
            let log = fs::File::create(dir.path().join("log")).unwrap();
            let caps = bounding_set(Path::new("/lib/systemd/system/elevated.service"));
            let child = confined(&caps, "/usr/sbin/elevated")
                .arg("--config")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            Self {
                child: Some(child),
                dir,
                socket,
            }
        };
        let start = Instant::now();
        loop {
            // A ping through the installed client.
            let out = run(Command::new("/usr/bin/elevate").args([
                "--socket",
                &served.socket,
                "--json",
                "status",
            ]));
            if out.status.success() {
                return served;
            }
            let exited = match served.child.as_mut() {
                Some(c) => c.try_wait().unwrap().is_some(),
                None => false,
            };
            assert!(
                !exited && start.elapsed() < Duration::from_secs(20),
                "daemon did not answer:\n{}",
                served.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &str {
        &self.socket
    }

    /// What it logged.
    pub fn log(&self) -> String {
        if self.child.is_none() && systemd_runs() {
            let out = run(Command::new("journalctl").args([
                "-u",
                "elevated.service",
                "--no-pager",
                "-n",
                "100",
            ]));
            return text(&out).0;
        }
        fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Stops it (SIGTERM, or `systemctl stop`) and waits.
    pub fn stop(&mut self) {
        match self.child.take() {
            Some(mut c) => {
                let _ = Command::new("kill").arg(c.id().to_string()).status();
                let _ = c.wait();
            }
            None if systemd_runs() => {
                let _ = Command::new("systemctl")
                    .args(["stop", "elevated.service", "elevated.socket"])
                    .status();
            }
            None => {}
        }
    }
}

impl Drop for InstalledDaemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Whether the package `elevated` is installed (dpkg).
pub fn dpkg_installed() -> bool {
    let out = run(Command::new("dpkg-query").args(["-W", "-f=${Status}", "elevated"]));
    text(&out).0.contains("install ok installed")
}

/// The `elevated_*` files in /etc/sudoers.d.
pub fn dropins() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir("/etc/sudoers.d")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("elevated_"))
        .collect();
    v.sort();
    v
}

/// The permission bits of a path.
pub fn mode(path: &str) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}
