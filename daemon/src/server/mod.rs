//! The socket server: peer credentials, limits, framing, dispatch.
//!
//! Bounds (rule 2): connections served at once, overall
//! (`limits.max_connections`) and per user
//! (`limits.max_connections_per_user`; the rest are told so and closed, see
//! [`slots`]), frame size (64 KiB, checked on the header before any body
//! byte is read, and the body buffer grows only as bytes arrive), the time
//! to send a frame (`frame_timeout`), idle time between requests
//! (`idle_timeout`), the length of a `Wait` (`max_wait`), and engine calls
//! at once, by kind: transitions, reads (and each user's share of them),
//! and root's PAM questions on permits of their own (see [`lanes`]).
#![forbid(unsafe_code)]

mod errors;
#[cfg(test)]
pub(crate) use errors::REAUTH_ONLY_BY_CLIENT;
mod fit;
mod lanes;
pub mod slots;

use std::sync::Arc;
use std::time::Duration;

use elevated_proto::frame::{body_len, decode, encode};
use elevated_proto::{
    ClientMessage, ErrorCode, FrameError, Request, RequestState, Response, ServerMessage,
    PROTOCOL_VERSION,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::UCred;
use tokio::net::{UnixListener, UnixStream};
use tokio::time::{timeout, Instant};

use crate::bus::BusSlot;
use crate::config::settings::Limits;
use crate::engine::{Engine, Outcome, Peer, Reauth};
use lanes::Lanes;
use slots::Slots;

/// What every connection shares.
struct Shared {
    engine: Arc<Engine>,
    limits: Limits,
    lanes: Lanes,
}

/// Accepts connections until the task is dropped. `bus` fills in once the
/// daemon is on D-Bus; a request that needs session facts meanwhile waits
/// briefly for it (see `BusSlot::bus`).
pub async fn serve(engine: Arc<Engine>, listener: UnixListener, limits: Limits, bus: BusSlot) {
    let slots = Slots::new(limits.max_connections, limits.max_connections_per_user);
    let shared = Arc::new(Shared {
        engine,
        limits,
        lanes: Lanes::new(),
    });
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Typically EMFILE under a flood: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // The caller's uid decides which limit applies; a peer without
        // credentials is nobody to serve.
        let Ok(cred) = stream.peer_cred() else {
            continue;
        };
        match slots.take(cred.uid()) {
            Ok(slot) => {
                let shared = shared.clone();
                let bus = bus.clone();
                tokio::spawn(async move {
                    connection(&shared, stream, cred, bus).await;
                    drop(slot);
                });
            }
            Err(refusal) => {
                let ft = shared.limits.frame_timeout;
                tokio::spawn(async move {
                    let mut stream = stream;
                    let msg = error(ErrorCode::Limit, refusal.message());
                    let _ = timeout(ft, send(&mut stream, &msg)).await;
                });
            }
        }
    }
}

fn error(code: ErrorCode, message: String) -> Response {
    Response::Error { code, message }
}

async fn send(stream: &mut UnixStream, response: &Response) -> std::io::Result<()> {
    let frame = fit::encode_fitting(response).or_else(|e| {
        encode(&ServerMessage {
            version: PROTOCOL_VERSION,
            response: error(
                ErrorCode::Internal,
                format!("answer could not be encoded: {e}"),
            ),
        })
    });
    match frame {
        Ok(f) => stream.write_all(&f).await,
        Err(_) => Ok(()),
    }
}

/// What reading one frame produced.
enum Incoming {
    Message(ClientMessage),
    /// A complete frame that was not a valid message: answer, keep going.
    Invalid(String),
    /// Answer (if anything) and hang up: the stream is out of sync or idle.
    Fatal(Option<String>),
}

async fn read_message(stream: &mut UnixStream, wait: Duration, frame: Duration) -> Incoming {
    let mut header = [0u8; 4];
    match timeout(wait, stream.read_exact(&mut header)).await {
        Err(_) => {
            return Incoming::Fatal(Some(format!(
                "no request received within {}s; closing",
                wait.as_secs()
            )))
        }
        Ok(Err(_)) => return Incoming::Fatal(None),
        Ok(Ok(_)) => {}
    }
    let len = match body_len(header) {
        Ok(l) => l,
        Err(e) => return Incoming::Fatal(Some(e.to_string())),
    };
    // The buffer grows as bytes arrive: announcing 64 KiB and sending a
    // byte at a time costs the daemon what was sent, not what was promised.
    let mut body = Vec::new();
    let announced = u64::try_from(len).unwrap_or(u64::MAX);
    match timeout(frame, (&mut *stream).take(announced).read_to_end(&mut body)).await {
        Err(_) => {
            return Incoming::Fatal(Some(format!(
                "frame of {len} bytes not completed within {}s; closing",
                frame.as_secs()
            )))
        }
        // Closed in the middle of the frame.
        Ok(Err(_)) => return Incoming::Fatal(None),
        Ok(Ok(got)) if got < len => return Incoming::Fatal(None),
        Ok(Ok(_)) => {}
    }
    match decode::<ClientMessage>(&body) {
        Ok(m) => Incoming::Message(m),
        Err(FrameError::Json(e)) => Incoming::Invalid(format!("invalid request: {e}")),
        Err(e) => Incoming::Invalid(e.to_string()),
    }
}

/// Serves one connection. `cred` is the kernel's word on the peer: the
/// identity never comes from a message.
async fn connection(sh: &Shared, mut stream: UnixStream, cred: UCred, bus: BusSlot) {
    let limits = &sh.limits;
    let mut wait = limits.frame_timeout;
    loop {
        let response = match read_message(&mut stream, wait, limits.frame_timeout).await {
            Incoming::Fatal(None) => return,
            Incoming::Fatal(Some(msg)) => {
                let _ = timeout(
                    limits.frame_timeout,
                    send(&mut stream, &error(ErrorCode::BadRequest, msg)),
                )
                .await;
                return;
            }
            Incoming::Invalid(msg) => error(ErrorCode::BadRequest, msg),
            Incoming::Message(m) if m.version != PROTOCOL_VERSION => error(
                ErrorCode::Version,
                format!(
                    "this daemon speaks protocol version {PROTOCOL_VERSION}, the client {}; upgrade both together",
                    m.version
                ),
            ),
            Incoming::Message(m) => {
                // A fresh caller for every message: the account and groups
                // are looked up when this operation first needs them (on
                // the engine's blocking thread), session facts before an
                // operation that decides policy (see `needs_context`).
                // Kept for the connection, they outlived a removal from a
                // group for as long as the client kept pinging.
                let peer = Arc::new(Peer::new(cred.uid(), cred.pid()));
                if needs_context(&m.request) && !peer.has_context() {
                    if let Some(pid) = peer.pid {
                        if let Some(bus) = bus.bus().await {
                            peer.set_context(bus.session_facts(pid, peer.uid).await);
                        }
                    }
                }
                dispatch(sh, &peer, m.request, &mut stream).await
            }
        };
        match timeout(limits.frame_timeout, send(&mut stream, &response)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
        wait = limits.idle_timeout;
    }
}

/// Whether `req` is decided by policy, whose `context` selector needs the
/// caller's session facts from logind (a D-Bus round trip, so only then).
fn needs_context(req: &Request) -> bool {
    matches!(
        req,
        Request::Roles {} | Request::Request { .. } | Request::Extend { .. }
    )
}

async fn dispatch(
    sh: &Shared,
    peer: &Arc<Peer>,
    req: Request,
    stream: &mut UnixStream,
) -> Response {
    if let Request::Wait(w) = &req {
        let limit = Duration::from_millis(w.timeout_ms).min(sh.limits.max_wait);
        return wait(sh, peer, req, Instant::now() + limit).await;
    }
    match run_with(sh, peer, req.clone(), Reauth::NotTried).await {
        Outcome::NeedsReauth => {
            // The conversation runs without a permit: it waits on a person.
            let outcome = reauthenticate(sh, peer, stream).await;
            match run_with(sh, peer, req, outcome).await {
                Outcome::Done(r) => r,
                Outcome::NeedsReauth => {
                    error(ErrorCode::Internal, errors::REAUTH_ONLY_BY_CLIENT.into())
                }
            }
        }
        Outcome::Done(r) => r,
    }
}

async fn run(sh: &Shared, peer: &Arc<Peer>, req: Request) -> Response {
    match run_with(sh, peer, req, Reauth::NotTried).await {
        Outcome::Done(r) => r,
        Outcome::NeedsReauth => error(ErrorCode::Forbidden, errors::REAUTH_ONLY_BY_CLIENT.into()),
    }
}

async fn run_with(sh: &Shared, peer: &Arc<Peer>, req: Request, reauth: Reauth) -> Outcome {
    let Some(_pass) = sh.lanes.enter(peer, &req).await else {
        return Outcome::Done(error(ErrorCode::Internal, "the daemon is stopping".into()));
    };
    let (engine, peer) = (sh.engine.clone(), peer.clone());
    tokio::task::spawn_blocking(move || {
        let now = engine.now();
        engine.handle_with(&peer, req, reauth, now)
    })
    .await
    .unwrap_or_else(|_| {
        Outcome::Done(error(
            ErrorCode::Internal,
            "the daemon failed handling this request; see its log".into(),
        ))
    })
}

/// Runs the PAM service for the peer, relaying each prompt to this
/// connection and each answer back. Only this connection, the requester's
/// own, ever sees the prompts.
async fn reauthenticate(sh: &Shared, peer: &Arc<Peer>, stream: &mut UnixStream) -> Reauth {
    let limits = &sh.limits;
    let service = sh.engine.config().settings.daemon.reauth_service.clone();
    let (ptx, mut prx) = tokio::sync::mpsc::channel(1);
    let (atx, arx) = std::sync::mpsc::channel();
    let user = match peer.name() {
        Ok(n) => n.to_owned(),
        Err(e) => return Reauth::Failed(e.to_string()),
    };
    let wait = limits.prompt_timeout;
    let pam = tokio::task::spawn_blocking(move || {
        crate::reauth::authenticate(&service, &user, ptx, arx, wait)
    });
    while let Some((style, text)) = prx.recv().await {
        let prompt = Response::Prompt { style, text };
        if !matches!(
            timeout(limits.frame_timeout, send(stream, &prompt)).await,
            Ok(Ok(()))
        ) {
            break;
        }
        match read_message(stream, wait, limits.frame_timeout).await {
            Incoming::Message(ClientMessage {
                request: Request::Answer { text },
                ..
            }) => {
                if atx.send(text).is_err() {
                    break;
                }
            }
            // Anything else ends the conversation; PAM then fails.
            _ => break,
        }
    }
    drop(atx);
    drop(prx);
    match pam.await {
        Ok(Ok(())) => Reauth::Passed,
        Ok(Err(why)) => Reauth::Failed(why),
        Err(_) => Reauth::Failed("the PAM conversation failed".into()),
    }
}

/// Answers when the request is no longer pending or at `deadline`.
async fn wait(sh: &Shared, peer: &Arc<Peer>, req: Request, deadline: Instant) -> Response {
    loop {
        // Register interest before looking, so a change between the look
        // and the wait is not missed.
        let notified = sh.engine.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let resp = run(sh, peer, req.clone()).await;
        let still_pending = matches!(
            &resp,
            Response::Request { request } if request.state == RequestState::Pending
        );
        if !still_pending || Instant::now() >= deadline {
            return resp;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return run(sh, peer, req).await;
        }
    }
}
