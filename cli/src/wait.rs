//! Asking for a role and waiting for the decision.

use std::time::{Duration, Instant, SystemTime};

use elevated_proto::{RequestState, RequestView, RoleName};
use indicatif::ProgressBar;

use crate::args::RequestOptions;
use crate::conn::{view_id, Daemon};
use crate::exit::{self, Failure};
use crate::out::Out;
use crate::render;

/// Shortest time between two waits for the same request.
const MIN_WAIT: Duration = Duration::from_secs(1);

/// Sends a request for `role`.
pub fn submit(
    daemon: &mut Daemon,
    role: &RoleName,
    options: &RequestOptions,
) -> Result<RequestView, Failure> {
    daemon.call_view(elevated_proto::Request::Request {
        role: role.clone(),
        duration_secs: options.duration,
        reason: options.reason.clone(),
        ticket: options.ticket.clone(),
    })
}

/// Waits until `view` leaves `pending`, showing progress when `out` allows.
pub fn until_decided(
    daemon: &mut Daemon,
    mut view: RequestView,
    out: &Out,
) -> Result<RequestView, Failure> {
    if view.state != RequestState::Pending {
        return Ok(view);
    }
    let id = view_id(&view)?;
    let progress = Progress::start(&view, out);
    while view.state == RequestState::Pending {
        let started = Instant::now();
        let next = daemon.wait(&id);
        view = match next {
            Ok(v) => v,
            Err(f) => {
                progress.finish();
                return Err(f);
            }
        };
        if view.id != id.as_str() {
            progress.finish();
            return Err(Failure::protocol(format!(
                "elevated answered about request {} while waiting for {id}",
                render::clean(&view.id)
            )));
        }
        progress.update(&view);
        // A daemon that answers a wait at once must not make this spin.
        if view.state == RequestState::Pending {
            std::thread::sleep(MIN_WAIT.saturating_sub(started.elapsed()));
        }
    }
    progress.finish();
    Ok(view)
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
        let line = render::waiting_line(view);
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

    fn update(&self, view: &RequestView) {
        if let Self::Spinner(bar) = self {
            bar.set_message(render::waiting_line(view));
        }
    }

    fn finish(&self) {
        if let Self::Spinner(bar) = self {
            bar.finish_and_clear();
        }
    }
}
