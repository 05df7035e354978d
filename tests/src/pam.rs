//! The built `pam_elevate.so` in a PAM service file of its own, driven by
//! the real `pamtester`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use elevated_testkit::output::joined;

use crate::bin;
use crate::host::unique;

/// A copy of the built module named `pam_elevate.so`, and a service file
/// `/etc/pam.d/elvt...` whose account and session lines load it by
/// absolute path. Both are removed on drop.
pub struct PamService {
    pub name: String,
    pub module: PathBuf,
    _dir: tempfile::TempDir,
}

impl PamService {
    /// A service whose account line is `account required MODULE ARGS` and
    /// whose session line is `session optional MODULE ARGS`.
    pub fn new(args: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("elvt-pam")
            .tempdir()
            .unwrap();
        let module = dir.path().join("pam_elevate.so");
        std::fs::copy(bin("libpam_elevate.so"), &module).unwrap();
        let name = unique("pam");
        let m = module.display();
        let body = format!(
            "auth     required pam_permit.so\n\
             account  required {m} {args}\n\
             session  optional {m} {args}\n\
             session  required pam_permit.so\n"
        );
        std::fs::write(Self::path_of(&name), body).unwrap();
        Self {
            name,
            module,
            _dir: dir,
        }
    }

    fn path_of(name: &str) -> PathBuf {
        Path::new("/etc/pam.d").join(name)
    }

    /// `pamtester -v SERVICE USER OPS...` with `stdin` as the answers to
    /// the conversation; returns its output and how long it took.
    pub fn run(&self, user: &str, ops: &[&str], stdin: &str) -> (Output, Duration) {
        let start = Instant::now();
        let mut child = self.spawn(user, ops, stdin);
        let out = wait_bounded(&mut child, Duration::from_secs(120));
        (out, start.elapsed())
    }

    /// Starts `pamtester` without waiting for it.
    pub fn spawn(&self, user: &str, ops: &[&str], stdin: &str) -> Child {
        let mut child = Command::new("pamtester")
            .arg("-v")
            .arg(&self.name)
            .arg(user)
            .args(ops)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
        drop(input);
        child
    }

    /// `acct_mgmt` for `user`: (allowed, stdout + stderr, time taken).
    pub fn account(&self, user: &str, stdin: &str) -> (bool, String, Duration) {
        let (out, took) = self.run(user, &["acct_mgmt"], stdin);
        (out.status.success(), joined(&out), took)
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(Self::path_of(&self.name));
    }
}

/// Waits for `child`, killing it after `limit` (a hung module fails the
/// test instead of hanging it).
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    use std::io::Read;
    if let Some(mut o) = child.stdout.take() {
        o.read_to_end(&mut stdout).unwrap();
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_end(&mut stderr).unwrap();
    }
    Output {
        status: child.wait().unwrap(),
        stdout,
        stderr,
    }
}
