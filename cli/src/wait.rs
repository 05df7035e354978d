//! Asking for a role and waiting for the decision.
//!
//! The waits run on a helper thread that owns the connection, so the main
//! thread can refresh the progress line every second and notice Ctrl-C at
//! once, even while the daemon holds a wait open.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use elevated_proto::{GrantId, NewRequest, Request, RequestState, RequestView, RoleName};
use indicatif::ProgressBar;

use crate::args::RequestOptions;
use crate::conn::{view_id, Daemon};
use crate::exit::{self, Failure};
use crate::out::Out;
use crate::render::{self, awaiting};
use crate::{interrupt, tty};

/// Shortest time between two waits for the same request.
const MIN_WAIT: Duration = Duration::from_secs(1);
/// How often the main thread looks at the clock and for Ctrl-C.
const TICK: Duration = Duration::from_millis(200);

/// Sends a request for `role`; `command` makes it a just-in-time action.
pub fn submit(
    daemon: &mut Daemon,
    role: &RoleName,
    options: &RequestOptions,
    command: Option<Vec<String>>,
) -> Result<RequestView, Failure> {
    daemon.call_view(Request::Request(NewRequest {
        role: role.clone(),
        duration_secs: options.duration,
        command,
        reason: options.reason.clone(),
        ticket: options.ticket.clone(),
    }))
}

/// How a wait ended.
#[derive(Debug)]
pub enum Waited {
    /// No decision is awaited any more: the latest view.
    Decided(Box<RequestView>),
    /// Ctrl-C stopped the wait; the outcome was reported and this is the
    /// exit status.
    Stopped(u8),
}

/// Waits until `view` is no longer awaiting a decision (see
/// [`render::awaiting`]), showing progress when `out` allows. Ctrl-C ends
/// the wait: on a terminal the user chooses between withdrawing the request
/// and leaving it pending; without one it is left pending.
pub fn until_decided(
    socket: &Path,
    daemon: Daemon,
    mut view: RequestView,
    out: &Out,
) -> Result<Waited, Failure> {
    if !awaiting(&view) {
        return Ok(Waited::Decided(Box::new(view)));
    }
    let id = view_id(&view)?;
    interrupt::catch();
    interrupt::take();
    let answers = spawn_waiter(daemon, id.clone())?;
    let progress = Progress::start(&view, out);
    loop {
        match answers.recv_timeout(TICK) {
            Ok(Ok(next)) => {
                if next.id != id.as_str() {
                    progress.finish();
                    return Err(Failure::protocol(format!(
                        "elevated answered about request {} while waiting for {id}",
                        render::clean(&next.id)
                    )));
                }
                view = next;
                if !awaiting(&view) {
                    progress.finish();
                    return Ok(Waited::Decided(Box::new(view)));
                }
            }
            Ok(Err(f)) => {
                progress.finish();
                return Err(f);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                progress.finish();
                return Err(Failure::protocol("waiting for the decision stopped"));
            }
        }
        if interrupt::take() {
            let fresh_line = progress.finish_interrupted();
            return stop(socket, &id, &view, out, fresh_line).map(Waited::Stopped);
        }
        progress.update(&view);
    }
}

/// Asks the daemon again and again, each answer sent to the receiver,
/// until no decision is awaited or a call fails.
fn spawn_waiter(
    mut daemon: Daemon,
    id: GrantId,
) -> Result<Receiver<Result<RequestView, Failure>>, Failure> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("elevate-wait".into())
        .spawn(move || loop {
            let started = Instant::now();
            let next = daemon.wait(&id);
            let more = matches!(&next, Ok(v) if awaiting(v) && v.id == id.as_str());
            if tx.send(next).is_err() || !more {
                return;
            }
            // A daemon that answers a wait at once must not make this spin.
            std::thread::sleep(MIN_WAIT.saturating_sub(started.elapsed()));
        })
        .map_err(|e| Failure::protocol(format!("cannot wait for the decision: {e}")))?;
    Ok(rx)
}

/// After Ctrl-C: withdraw the request if the user says so on the terminal,
/// else leave it pending. Returns the exit status. `fresh_line`: the cursor
/// is at the start of an empty line.
fn stop(
    socket: &Path,
    id: &GrantId,
    view: &RequestView,
    out: &Out,
    fresh_line: bool,
) -> Result<u8, Failure> {
    if confirm_cancel(id, fresh_line) {
        let cancelled = Daemon::connect(socket)?.call_view(Request::Cancel { id: id.clone() })?;
        if out.json {
            out.json(&cancelled)?;
        } else {
            out.text(&render::changed(&cancelled));
        }
        return Ok(exit::REFUSED);
    }
    if out.json {
        out.json(view)?;
    } else {
        out.text(&render::outcome(view, SystemTime::now()).0);
    }
    let what = if view.state == RequestState::Active {
        format!("the extension of grant {id}")
    } else {
        format!("request {id}")
    };
    out.note(&format!(
        "{what} is still pending; check it later with `elevate show {id}`"
    ));
    Ok(exit::PENDING)
}

/// Asks `elevate: Cancel request ID? [y/N]` (prefixed like every other
/// line `elevate` writes there) when there is a terminal. A second
/// Ctrl-C, end of input or anything but `y`/`yes` means no.
fn confirm_cancel(id: &GrantId, fresh_line: bool) -> bool {
    let Some(mut terminal) = tty::open() else {
        return false;
    };
    let question = cancel_question(id, fresh_line);
    if std::io::stderr().is_terminal() {
        tty::say(None, &question);
    } else {
        tty::say(Some(&mut terminal), &question);
    }
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::Builder::new()
        .name("elevate-ask".into())
        .spawn(move || {
            let _ = tx.send(tty::read_line(&mut terminal));
        });
    if reader.is_err() {
        return false;
    }
    loop {
        match rx.recv_timeout(TICK) {
            Ok(Ok(Some(line))) => {
                return matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
            }
            Ok(_) | Err(RecvTimeoutError::Disconnected) => return false,
            Err(RecvTimeoutError::Timeout) if interrupt::take() => {
                tty::say(None, "\n");
                return false;
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// The Ctrl-C question, on a line of its own.
fn cancel_question(id: &GrantId, fresh_line: bool) -> String {
    let newline = if fresh_line { "" } else { "\n" };
    format!("{newline}elevate: Cancel request {id}? [y/N] ")
}

/// Prints the outcome of a request and returns the exit status for it.
pub fn report(view: &RequestView, out: &Out) -> Result<u8, Failure> {
    let (text, problem) = render::outcome(view, SystemTime::now());
    if out.json {
        out.json(view)?;
    } else {
        out.text(&text);
    }
    if let Some(p) = problem {
        out.note(&p);
    }
    Ok(exit::for_outcome(view.state))
}

/// What the user sees while waiting.
enum Progress {
    /// A spinner on a terminal.
    Spinner(ProgressBar),
    /// Nothing more (not a terminal, or JSON).
    Quiet,
}

impl Progress {
    fn start(view: &RequestView, out: &Out) -> Self {
        let line = render::waiting_line(view, SystemTime::now());
        if out.interactive() {
            let bar = ProgressBar::new_spinner();
            bar.set_message(line);
            bar.enable_steady_tick(Duration::from_millis(120));
            Self::Spinner(bar)
        } else {
            if !out.json {
                out.note(&format!("{line}; waiting for a decision"));
            }
            Self::Quiet
        }
    }

    /// Shows the latest view and the time left to decide, as of now.
    fn update(&self, view: &RequestView) {
        if let Self::Spinner(bar) = self {
            bar.set_message(render::waiting_line(view, SystemTime::now()));
        }
    }

    fn finish(&self) {
        if let Self::Spinner(bar) = self {
            bar.finish_and_clear();
        }
    }

    /// Like [`Progress::finish`] after Ctrl-C. The spinner keeps the cursor
    /// at the right edge of the screen, so the terminal's `^C` wrapped onto
    /// a new line: that line is cleared with the spinner's own, and the
    /// cursor is left at the start of the empty line. Returns whether it is.
    fn finish_interrupted(&self) -> bool {
        let Self::Spinner(bar) = self else {
            return false;
        };
        bar.finish_and_clear();
        tty::say(None, "\x1b[1A\r\x1b[2K");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cancel_question_is_prefixed_like_every_line() {
        let id = GrantId::parse("k3f9x2ma").unwrap();
        assert_eq!(
            cancel_question(&id, true),
            "elevate: Cancel request k3f9x2ma? [y/N] "
        );
        assert_eq!(
            cancel_question(&id, false),
            "\nelevate: Cancel request k3f9x2ma? [y/N] "
        );
    }
}
