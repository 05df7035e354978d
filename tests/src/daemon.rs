//! A real `elevated` on a temporary directory.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use elevated_proto::{Client, Request, Response, Timeouts};
/// Text of an output's stdout and stderr, for assertions and messages.
pub use elevated_testkit::output::text;

use crate::bin;
use crate::host::{as_user, unique, TestUser};

/// A daemon and its directories. Dropping it kills the daemon and removes
/// the directory and any include file it put into /etc/sudoers.d.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub sudoers: PathBuf,
    pub policy_dir: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    pub host: String,
    /// The daemon binary's name in the target directory.
    binary: String,
    include: Option<PathBuf>,
    child: Option<Child>,
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    let mut f = fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

impl Daemon {
    /// Directories and settings; nothing runs yet. `extra` is appended to
    /// elevated.toml (e.g. `[limits]` overrides).
    pub fn new(extra: &str) -> Self {
        let dir = tempfile::Builder::new().prefix("elvt-").tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let p = dir.path();
        for sub in ["policy.d", "host.d", "users.d", "sudoers.d", "home"] {
            fs::create_dir(p.join(sub)).unwrap();
            fs::set_permissions(p.join(sub), fs::Permissions::from_mode(0o755)).unwrap();
        }
        let host = "testhost".to_owned();
        let config = p.join("elevated.toml");
        let text = format!(
            "[daemon]\nsocket = \"{p}/run/elevated.sock\"\nstate_dir = \"{p}/state\"\n\
             sudoers_dir = \"{p}/sudoers.d\"\npolicy_dir = \"{p}/policy.d\"\n\
             host_dir = \"{p}/host.d\"\nusers_dir = \"{p}/users.d\"\n\
             syslog_socket = \"{p}/syslog.sock\"\n\
             setgid_scan = [\"{p}/home\"]\n\n[host]\nname = \"{host}\"\n{extra}\n",
            p = p.display()
        );
        write_mode(&config, &text, 0o644);
        Self {
            socket: p.join("run/elevated.sock"),
            sudoers: p.join("sudoers.d"),
            policy_dir: p.join("policy.d"),
            log: p.join("daemon.log"),
            config,
            host,
            binary: "elevated".to_owned(),
            include: None,
            child: None,
            dir,
        }
    }

    /// Makes the real sudo read this daemon's drop-ins through an
    /// `@includedir` file in /etc/sudoers.d.
    pub fn with_real_sudo(mut self) -> Self {
        let path = PathBuf::from("/etc/sudoers.d").join(unique("inc"));
        write_mode(
            &path,
            &format!("@includedir {}\n", self.sudoers.display()),
            0o440,
        );
        // Recorded before checking, so Drop removes it even if the check
        // fails. Only our own include is checked: other tests' directories
        // change under parallel runs.
        self.include = Some(path.clone());
        let check = Command::new("visudo")
            .arg("-cf")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "visudo -cf {}: {check:?}",
            path.display()
        );
        self
    }

    /// Writes a policy file (mode 0644).
    pub fn policy(&self, name: &str, text: &str) {
        write_mode(&self.policy_dir.join(name), text, 0o644);
    }

    /// Writes a file below the daemon's directory.
    pub fn file(&self, rel: &str, text: &str, mode: u32) {
        write_mode(&self.dir.path().join(rel), text, mode);
    }

    /// Starts the daemon and waits until it answers.
    pub fn start(&mut self) {
        self.start_with(&[], &[]);
    }

    /// Runs another build of the daemon from the target directory (the
    /// crash tests use `elevated-faults`).
    pub fn with_binary(mut self, name: &str) -> Self {
        self.binary = name.to_owned();
        self
    }

    /// Starts the daemon behind `wrapper` (e.g. `systemd-socket-activate
    /// -l PATH`) with extra environment, and waits until it answers on
    /// `self.socket`.
    pub fn start_with(&mut self, wrapper: &[&str], env: &[(&str, &str)]) {
        if let Err(status) = self.try_start_with(wrapper, env) {
            panic!("elevated exited with {status}:\n{}", self.log_text());
        }
    }

    /// Like [`Daemon::start_with`], but a daemon that exits before it
    /// answers is no failure: its status is returned.
    pub fn try_start_with(
        &mut self,
        wrapper: &[&str],
        env: &[(&str, &str)],
    ) -> Result<(), ExitStatus> {
        assert!(self.child.is_none(), "already running");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin(&self.binary));
                c
            }
            None => Command::new(bin(&self.binary)),
        };
        let child = cmd
            .arg("--config")
            .arg(&self.config)
            .env("ELEVATED_LOG", "debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Some(status) = self.exited() {
                return Err(status);
            }
            if let Ok(mut c) = Client::connect(&self.socket, short()) {
                if let Ok(Response::Pong { .. }) = c.call(Request::Ping {}) {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("elevated did not answer within 20s:\n{}", self.log_text());
    }

    /// If the daemon has exited, reaps it and returns its status.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().unwrap()?;
        self.child = None;
        Some(status)
    }

    /// SIGKILL: no clean-up of any kind.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    /// Sends a signal (`HUP`, `TERM`, ...) to the daemon.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("not running").id();
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("not running").id()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A protocol client as root.
    pub fn client(&self) -> Client {
        Client::connect(&self.socket, short()).unwrap()
    }

    /// `elevate --socket S ARGS` as `user` (root when `None`).
    pub fn elevate(&self, user: Option<&TestUser>, args: &[&str]) -> Output {
        elevate_at(&self.socket, user, args)
    }

    /// `elevated SUBCOMMAND --config ...` (check-config, explain).
    pub fn elevated_cmd(&self, args: &[&str]) -> Output {
        Command::new(bin("elevated"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .unwrap()
    }

    /// The daemon's database, opened directly (for tampering tests).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("state/elevated.db")).unwrap()
    }

    /// The `elevated_*` drop-ins sudo reads in the drop-in directory.
    pub fn dropins(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.sudoers)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            // What sudo reads: a name with a `.` is a drop-in still being
            // written and checked (sudo skips it).
            .filter(|n| n.starts_with("elevated_") && !n.contains('.'))
            .collect();
        v.sort();
        v
    }
}

/// `elevate --socket SOCKET ARGS` as `user` (root when `None`).
pub fn elevate_at(socket: &Path, user: Option<&TestUser>, args: &[&str]) -> Output {
    elevate_command(socket, user, args).output().unwrap()
}

/// The command [`elevate_at`] runs, for callers that start several at once.
pub fn elevate_command(socket: &Path, user: Option<&TestUser>, args: &[&str]) -> Command {
    let elevate = bin("elevate");
    let socket = socket.display().to_string();
    let mut full = vec!["--socket", socket.as_str()];
    full.extend_from_slice(args);
    let mut cmd = match user {
        Some(u) => as_user(u, elevate.to_str().unwrap(), &full),
        None => {
            let mut c = Command::new(&elevate);
            c.args(&full);
            c
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn short() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        read: Duration::from_secs(10),
        write: Duration::from_secs(2),
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        if let Some(inc) = self.include.take() {
            let _ = fs::remove_file(inc);
        }
        if std::thread::panicking() {
            eprintln!("--- elevated log ---\n{}", self.log_text());
        }
    }
}
