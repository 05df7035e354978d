//! Command hooks: run a program once per event with the event's JSON on
//! standard input, and kill it when it overstays its timeout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::config::CommandSettings;
use super::event::Event;
use super::life::Life;
use crate::sys::exec::exec_program;
use crate::sys::run::{run, Limits, RunError};
use crate::sys::trust::open_program;

/// Bytes of a hook's standard error kept for the log.
const MAX_STDERR: usize = 2048;
/// `PATH` hooks run with (their environment is otherwise empty).
const HOOK_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A configured command hook.
pub(super) struct CommandHook {
    path: PathBuf,
    args: Vec<String>,
    timeout: Duration,
}

impl CommandHook {
    pub(super) fn new(settings: &CommandSettings) -> Self {
        Self {
            path: settings.command.clone(),
            args: settings.args.clone(),
            timeout: settings.timeout,
        }
    }

    /// The program, for the log.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the hook once for `event`. It runs in its own process group
    /// with an empty environment apart from `PATH`, `ELEVATED_EVENT` and
    /// `ELEVATED_ID`, in `/`, with standard output discarded. When it
    /// overstays its timeout, or the notifier shuts down, the whole group
    /// gets SIGTERM and then SIGKILL.
    pub(super) fn run(&self, event: &Event, life: &Life) -> Result<(), String> {
        let shown = self.path.display();
        // Checked now, not only at load: the file may have changed since.
        // The checked descriptor is what runs, so the path cannot be swapped
        // in between.
        let program = open_program(&self.path)
            .map_err(|e| format!("refusing to run {shown}: {}", e.message_for(&self.path)))?;
        let mut cmd = Command::new(&self.path);
        cmd.env_clear().current_dir("/");
        let env = [
            ("PATH", HOOK_PATH),
            ("ELEVATED_EVENT", event.kind.as_str()),
            ("ELEVATED_ID", event.id.as_str()),
        ];
        exec_program(&mut cmd, program, &self.path, &self.args, &env)
            .map_err(|e| format!("cannot start {shown}: {e}"))?;
        let mut json = event.to_json();
        json.push('\n');
        let stop = || life.past_deadline();
        let limits = Limits {
            stdin: Some(json.into_bytes()),
            stop: Some(&stop),
            ..Limits::timeout(self.timeout)
        };
        match run(&mut cmd, &limits) {
            Ok(done) if done.status.success() => Ok(()),
            Ok(done) => Err(format!("{}{}", done.status, stderr_note(&done.stderr))),
            Err(RunError::TimedOut { stderr, .. }) => Err(format!(
                "killed after its timeout of {}{}",
                humantime::format_duration(self.timeout),
                stderr_note(&stderr)
            )),
            Err(RunError::Stopped { stderr, .. }) => {
                Err(format!("killed at shutdown{}", stderr_note(&stderr)))
            }
            Err(RunError::Spawn { source, .. }) => {
                Err(format!("cannot start {}: {source}", self.path.display()))
            }
            Err(RunError::Wait { source, .. }) => Err(format!("cannot wait for it: {source}")),
            // Hooks run without a back-off: their worker is not the engine.
            Err(e @ RunError::Skipped { .. }) => Err(e.to_string()),
        }
    }
}

/// The hook's standard error for the log, at most [`MAX_STDERR`] bytes.
fn stderr_note(text: &str) -> String {
    let mut t = text.trim();
    if t.len() > MAX_STDERR {
        let mut cut = MAX_STDERR;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t = &t[..cut];
    }
    if t.is_empty() {
        String::new()
    } else {
        format!("; stderr: {t}")
    }
}
