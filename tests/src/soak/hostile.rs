//! Hostile clients: each run picks one abuse, does it, and records how the
//! daemon reacted. The right reactions are a clear error (and, where the
//! stream is out of sync, hanging up), or hanging up when the client gave
//! it nothing to answer; a connection that only sent a bad message stays
//! usable for a good one.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use elevated_proto::frame::{self, FrameError};
use elevated_proto::{ErrorCode, Response, ServerMessage, MAX_FRAME};
use serde_json::json;

use super::{connect, is_busy, read_answer, Ctx, ANSWER_TIMEOUT};

/// What one run saw.
enum Seen {
    /// The expected error answer (and hang-up where expected).
    Error,
    /// Hung up without an answer, as expected.
    Closed,
    /// A valid request on the same connection was then answered.
    Recovered,
    /// Refused by a connection limit before anything else.
    Busy,
}

type Run = Result<Seen, String>;

/// Runs one randomly chosen abuse and records the outcome.
pub fn one(ctx: &mut Ctx) {
    // The slow kinds (cut_and_hold, slow_sender, silent: up to twice the
    // frame timeout each) are not started near the end, so the run ends
    // on time.
    let slow_ok = ctx.end.saturating_duration_since(Instant::now()) > Duration::from_secs(12);
    let mut pick = ctx.rng.below(100);
    while !slow_ok && (24..36).contains(&pick) {
        pick = ctx.rng.below(100);
    }
    let (name, run): (&str, fn(&mut Ctx) -> Run) = match pick {
        0..8 => ("oversized_header", oversized_header),
        8..16 => ("oversized_body", oversized_body),
        16..24 => ("cut_and_close", cut_and_close),
        24..28 => ("cut_and_hold", cut_and_hold),
        28..32 => ("slow_sender", slow_sender),
        32..36 => ("silent", silent),
        36..48 => ("invalid_json", invalid_json),
        48..56 => ("wrong_version", wrong_version),
        56..64 => ("unknown_fields", unknown_fields),
        64..74 => ("garbage", garbage),
        74..78 => ("empty_frame", empty_frame),
        78..88 => ("connect_and_close", connect_and_close),
        88..92 => ("half_closed_request", half_closed_request),
        92..96 => ("half_closed_empty", half_closed_empty),
        _ => ("pipelined", pipelined),
    };
    let result = run(ctx);
    let o = ctx.tally.hostile.entry(name.to_owned()).or_default();
    o.runs += 1;
    match result {
        Ok(Seen::Error) => o.error_answer += 1,
        Ok(Seen::Closed) => o.closed += 1,
        Ok(Seen::Recovered) => o.recovered += 1,
        Ok(Seen::Busy) => o.busy += 1,
        Err(e) => {
            o.unexpected += 1;
            if ctx.tally.examples.len() < 20 {
                ctx.tally.examples.push(format!("{name}: {e}"));
            }
        }
    }
    ctx.rng.pause(100, 500);
}

fn open(ctx: &mut Ctx) -> Result<UnixStream, String> {
    connect(ctx).map_err(|e| format!("connect: {e}"))
}

fn raw_frame(body: &[u8]) -> Vec<u8> {
    let mut f = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn ping() -> Vec<u8> {
    frame::encode(&json!({"version": 1, "request": {"op": "ping"}})).unwrap()
}

/// Writes, ignoring a hang-up: the daemon may rightly close first.
fn send(s: &mut UnixStream, bytes: &[u8]) -> Result<(), String> {
    match s.write_all(bytes) {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => Ok(()),
        Err(e) => Err(format!("write: {e}")),
    }
}

/// Expects an error answer with `code` whose message contains `text`.
fn expect_error(s: &mut UnixStream, code: ErrorCode, text: &str) -> Result<Option<Seen>, String> {
    match read_answer(s)?.map(|m| m.response) {
        Some(r) if is_busy(&r) => Ok(Some(Seen::Busy)),
        Some(Response::Error { code: c, message }) if c == code && message.contains(text) => {
            Ok(None)
        }
        other => Err(format!(
            "expected a {code:?} error about {text:?}, got {other:?}"
        )),
    }
}

/// Expects the daemon to hang up now.
fn expect_closed(s: &mut UnixStream) -> Run {
    match read_answer(s)? {
        None => Ok(Seen::Closed),
        Some(m) => Err(format!("expected a hang-up, got {:?}", m.response)),
    }
}

/// An error, then a hang-up.
fn error_then_closed(s: &mut UnixStream, code: ErrorCode, text: &str) -> Run {
    if let Some(seen) = expect_error(s, code, text)? {
        return Ok(seen);
    }
    expect_closed(s).map(|_| Seen::Error)
}

/// An error, then a ping on the same connection is answered.
fn error_then_recovers(s: &mut UnixStream, code: ErrorCode, text: &str) -> Run {
    if let Some(seen) = expect_error(s, code, text)? {
        return Ok(seen);
    }
    send(s, &ping())?;
    match read_answer(s)?.map(|m| m.response) {
        Some(Response::Pong { .. }) => Ok(Seen::Recovered),
        other => Err(format!("a ping after the error got {other:?}")),
    }
}

fn oversized_header(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let over = MAX_FRAME as u64 + 1 + ctx.rng.below(u64::from(u32::MAX) - MAX_FRAME as u64);
    send(&mut s, &u32::try_from(over).unwrap().to_be_bytes())?;
    error_then_closed(&mut s, ErrorCode::BadRequest, "larger than the limit")
}

fn oversized_body(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let len = MAX_FRAME + 1 + usize::try_from(ctx.rng.below(8192)).unwrap();
    let mut f = u32::try_from(len).unwrap().to_be_bytes().to_vec();
    f.resize(4 + len, b'x');
    send(&mut s, &f)?;
    error_then_closed(&mut s, ErrorCode::BadRequest, "larger than the limit")
}

fn status_frame() -> Vec<u8> {
    frame::encode(&json!({"version": 1, "request": {"op": "status"}})).unwrap()
}

fn cut_and_close(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let f = status_frame();
    let cut = 1 + usize::try_from(ctx.rng.below(f.len() as u64 - 1)).unwrap();
    send(&mut s, &f[..cut])?;
    Ok(Seen::Closed)
}

fn cut_and_hold(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let f = status_frame();
    send(&mut s, &f[..f.len() - 7])?;
    error_then_closed(&mut s, ErrorCode::BadRequest, "not completed")
}

/// One byte a second of a valid frame: the daemon must cut it off (at the
/// header or in the body) before the frame is complete.
fn slow_sender(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let f = status_frame();
    let io = |e: std::io::Error| format!("socket: {e}");
    // The first byte of an answer (or of the hang-up), once one comes.
    let mut first: Option<Vec<u8>> = None;
    for (i, b) in f.iter().enumerate() {
        if s.write_all(&[*b]).is_err() {
            // Hung up on: whatever it said is still readable.
            break;
        }
        s.set_read_timeout(Some(Duration::from_secs(1)))
            .map_err(io)?;
        let mut probe = [0u8; 1];
        match s.read(&mut probe) {
            Ok(n) => first = Some(probe[..n].to_vec()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => first = Some(Vec::new()),
            Err(e) => return Err(format!("read: {e}")),
        }
        s.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(io)?;
        if first.is_some() {
            break;
        }
        if i + 1 == f.len() {
            return Err("the whole frame went through at a byte a second".into());
        }
    }
    let first = first.unwrap_or_default();
    let mut rest = first.as_slice().chain(&mut s);
    let answer = match frame::read_frame::<_, ServerMessage>(&mut rest) {
        Ok(m) => Some(m.response),
        Err(FrameError::Closed) => None,
        Err(e) => return Err(format!("read: {e}")),
    };
    match answer {
        Some(r) if is_busy(&r) => Ok(Seen::Busy),
        Some(Response::Error {
            code: ErrorCode::BadRequest,
            message,
        }) if message.contains("not completed") || message.contains("no request received") => {
            expect_closed(&mut s).map(|_| Seen::Error)
        }
        None => Ok(Seen::Closed),
        other => Err(format!("slow sender got {other:?}")),
    }
}

fn silent(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    error_then_closed(&mut s, ErrorCode::BadRequest, "no request received")
}

fn invalid_json(ctx: &mut Ctx) -> Run {
    const BAD: [&str; 7] = [
        "{",
        "nul",
        r#"{"version":1,"request":"#,
        r#""just a string""#,
        "[1,2,3]",
        r#"{"version":"one","request":{"op":"ping"}}"#,
        r#"{"version":1,"request":{"op":"launch_missiles"}}"#,
    ];
    let mut s = open(ctx)?;
    let bad = BAD[usize::try_from(ctx.rng.below(BAD.len() as u64)).unwrap()];
    send(&mut s, &raw_frame(bad.as_bytes()))?;
    error_then_recovers(&mut s, ErrorCode::BadRequest, "invalid request")
}

fn wrong_version(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let v = 2 + ctx.rng.below(1000);
    let f = frame::encode(&json!({"version": v, "request": {"op": "ping"}})).unwrap();
    send(&mut s, &f)?;
    error_then_recovers(&mut s, ErrorCode::Version, "protocol version")
}

/// Fields the protocol does not have, including attempts to claim an
/// identity: refused, never obeyed.
fn unknown_fields(ctx: &mut Ctx) -> Run {
    let bodies = [
        json!({"version": 1, "request": {"op": "status", "uid": 0}}),
        json!({"version": 1, "request": {"op": "request", "role": "soak-auto", "user": "root"}}),
        json!({"version": 1, "request": {"op": "list", "pending": true, "as": "root"}}),
        json!({"version": 1, "uid": 0, "request": {"op": "status"}}),
    ];
    let mut s = open(ctx)?;
    let body = &bodies[usize::try_from(ctx.rng.below(bodies.len() as u64)).unwrap()];
    send(&mut s, &frame::encode(body).unwrap())?;
    error_then_recovers(&mut s, ErrorCode::BadRequest, "unknown field")
}

/// Random bytes, then end of input: every answer must be an error, and the
/// daemon must hang up.
fn garbage(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let n = 1 + ctx.rng.below(200);
    let bytes: Vec<u8> = (0..n).map(|_| ctx.rng.below(256) as u8).collect();
    send(&mut s, &bytes)?;
    let _ = s.shutdown(Shutdown::Write);
    let mut errors = 0;
    loop {
        match read_answer(&mut s)?.map(|m| m.response) {
            None if errors == 0 => return Ok(Seen::Closed),
            None => return Ok(Seen::Error),
            Some(r) if is_busy(&r) => return Ok(Seen::Busy),
            Some(Response::Error { .. }) => errors += 1,
            Some(other) => return Err(format!("garbage {bytes:02x?} was answered {other:?}")),
        }
    }
}

fn empty_frame(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    send(&mut s, &[0, 0, 0, 0])?;
    error_then_closed(&mut s, ErrorCode::BadRequest, "empty frame")
}

fn connect_and_close(ctx: &mut Ctx) -> Run {
    drop(open(ctx)?);
    Ok(Seen::Closed)
}

/// A request, then the client's end of the stream closed: the request is
/// still answered, then the daemon hangs up.
fn half_closed_request(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    send(&mut s, &ping())?;
    let _ = s.shutdown(Shutdown::Write);
    match read_answer(&mut s)?.map(|m| m.response) {
        Some(r) if is_busy(&r) => Ok(Seen::Busy),
        Some(Response::Pong { .. }) => expect_closed(&mut s).map(|_| Seen::Recovered),
        other => Err(format!("a half-closed ping got {other:?}")),
    }
}

fn half_closed_empty(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let _ = s.shutdown(Shutdown::Write);
    match read_answer(&mut s)?.map(|m| m.response) {
        Some(r) if is_busy(&r) => Ok(Seen::Busy),
        None => Ok(Seen::Closed),
        Some(other) => Err(format!("a client that sent nothing got {other:?}")),
    }
}

/// Three requests in one write: three answers, in order.
fn pipelined(ctx: &mut Ctx) -> Run {
    let mut s = open(ctx)?;
    let three: Vec<u8> = [ping(), status_frame(), ping()].concat();
    send(&mut s, &three)?;
    for want in ["pong", "requests", "pong"] {
        match (want, read_answer(&mut s)?.map(|m| m.response)) {
            (_, Some(r)) if is_busy(&r) => return Ok(Seen::Busy),
            ("pong", Some(Response::Pong { .. }))
            | ("requests", Some(Response::Requests { .. })) => {}
            (_, other) => return Err(format!("pipelined {want} got {other:?}")),
        }
    }
    Ok(Seen::Recovered)
}
