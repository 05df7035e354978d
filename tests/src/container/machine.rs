//! One booted container: `systemd-nspawn --boot` on an overlay of the
//! cached root, with systemd as its PID 1 (and logind and the system bus
//! it starts). Commands run inside with `nsenter` into every namespace of
//! the container's PID 1; dropping the machine halts it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use elevated_testkit::unique;

use crate::daemon::text;

/// A booted container. Halted (SIGTERM to nspawn, which shuts systemd
/// down) and its cgroups removed on drop, also when a test fails.
pub struct Machine {
    name: String,
    nspawn: Child,
    leader: u32,
    log: PathBuf,
}

/// The cgroup hierarchies nspawn needs its launcher to own on a host whose
/// PID 1 is not systemd (hybrid: the named `systemd` v1 hierarchy plus the
/// unified one).
const CGROUP_ROOTS: &[&str] = &["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];

impl Machine {
    /// Boots a container on `root` with `binds` (`host path`, `container
    /// path`) mounted read-only, and waits until systemd reports the boot
    /// finished.
    pub fn boot(root: &Path, binds: &[(&Path, &str)]) -> Machine {
        let name = unique("ct");
        let log = std::env::temp_dir().join(format!("{name}.nspawn.log"));
        // The launcher moves itself into cgroups of its own first:
        // nspawn's unit-less mode (`--keep-unit` without a bus) delegates
        // the cgroup it runs in to the container.
        let mut script = String::new();
        for base in CGROUP_ROOTS {
            let dir = format!("{base}/{name}");
            fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create cgroup {dir}: {e}"));
            script.push_str(&format!("echo $$ > {dir}/cgroup.procs && "));
        }
        script.push_str("exec \"$@\"");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg("sh")
            .arg("systemd-nspawn")
            .arg("-D")
            .arg(root)
            .args(["--boot", "-M", &name, "--register=no", "--keep-unit"])
            .args([
                "--private-network",
                "--link-journal=no",
                "--console=passive",
            ])
            .args(["--system-call-filter=bpf", "--volatile=overlay"]);
        for (host, inside) in binds {
            cmd.arg(format!("--bind-ro={}:{inside}", host.display()));
        }
        let out = fs::File::create(&log).unwrap();
        let nspawn = cmd
            .env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start systemd-nspawn: {e}"));
        let mut m = Machine {
            name,
            nspawn,
            leader: 0,
            log,
        };
        m.leader = m.wait_for_leader();
        m.wait_running();
        m
    }

    /// The container's name (also its cgroup's).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host pid of the container's PID 1.
    pub fn leader(&self) -> u32 {
        self.leader
    }

    fn wait_for_leader(&mut self) -> u32 {
        let start = Instant::now();
        let pid = self.nspawn.id();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                panic!("systemd-nspawn exited ({status}):\n{}", self.log_text());
            }
            let children =
                fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
            for child in children.split_whitespace() {
                let comm = fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
                if comm.trim() == "systemd" {
                    return child.parse().unwrap();
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the container's systemd did not start:\n{}",
            self.log_text()
        );
    }

    fn wait_running(&self) {
        let start = Instant::now();
        // systemctl cannot talk to PID 1 until it has made its private
        // socket: retry until it answers with a state.
        let mut state = String::new();
        while start.elapsed() < Duration::from_secs(60) {
            let out = self.sh("systemctl is-system-running --wait");
            state = text(&out).0.trim().to_owned();
            if !state.is_empty() && state != "offline" {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            state == "running",
            "the container booted to {state:?} (not running) in {:.1?}; failed units:\n{}\n{}",
            start.elapsed(),
            text(&self.sh("systemctl --failed --no-legend")).0,
            self.log_text()
        );
    }

    /// What nspawn printed (boot messages are not shown: the console is
    /// passive).
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A command run inside the container as root, in every namespace of
    /// its PID 1 (but not in a unit: `systemd-run --wait --pipe` for that).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.leader.to_string())
            .arg("-a")
            .arg("--")
            .arg(program)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        cmd
    }

    /// `sh -c SCRIPT` inside the container as root; its output.
    pub fn sh(&self, script: &str) -> Output {
        self.command("sh").arg("-c").arg(script).output().unwrap()
    }

    /// `sh -c SCRIPT` inside as root, which must succeed; its stdout.
    pub fn ok(&self, script: &str) -> String {
        let out = self.sh(script);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "in the container: {script}\nfailed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        stdout
    }

    /// `sh -c SCRIPT` inside as `user` (through `runuser`, so with the
    /// user's groups and no login session).
    pub fn as_user(&self, user: &str, script: &str) -> Output {
        self.command("runuser")
            .args(["-u", user, "--", "sh", "-c", script])
            .output()
            .unwrap()
    }

    /// Waits until `script` succeeds inside, up to `timeout`.
    pub fn wait_for(&self, script: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.sh(script).status.success() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The journal of `unit` inside the container.
    pub fn journal(&self, unit: &str) -> String {
        text(&self.sh(&format!("journalctl -u {unit} --no-pager -o cat"))).0
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let pid = self.nspawn.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !matches!(self.nspawn.try_wait(), Ok(Some(_))) {
            let _ = self.nspawn.kill();
            let _ = self.nspawn.wait();
        }
        for base in CGROUP_ROOTS {
            remove_cgroup(&Path::new(base).join(&self.name));
        }
        let _ = fs::remove_file(&self.log);
    }
}

/// Removes a cgroup and the ones systemd made below it, deepest first
/// (a cgroup directory is removed with rmdir once it has no processes).
fn remove_cgroup(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup(&e.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}
