//! Hostile input over the socket: each case gets a clear error or is
//! dropped, and the daemon keeps answering a normal request right after.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use elevated_proto::{frame, ErrorCode, Request, Response, ServerMessage};
use elevated_tests::{require_root, Daemon};

fn daemon() -> Daemon {
    require_root();
    let mut d = Daemon::new("[limits]\nframe_timeout = \"2s\"\nmax_connections = 64\n");
    d.start();
    d
}

fn raw(d: &Daemon) -> UnixStream {
    let s = UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one answer frame, or None if the daemon closed the connection.
fn answer(s: &mut UnixStream) -> Option<ServerMessage> {
    match frame::read_frame::<_, ServerMessage>(s) {
        Ok(m) => Some(m),
        Err(frame::FrameError::Closed) => None,
        Err(e) => panic!("unexpected read error: {e}"),
    }
}

fn error_of(m: Option<ServerMessage>) -> (ErrorCode, String) {
    match m.map(|m| m.response) {
        Some(Response::Error { code, message }) => (code, message),
        other => panic!("expected an error answer, got {other:?}"),
    }
}

fn closed(s: &mut UnixStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

fn still_serves(d: &Daemon) {
    let mut c = d.client();
    match c.call(Request::Ping {}).unwrap() {
        Response::Pong { host, .. } => assert_eq!(host, d.host),
        other => panic!("{other:?}"),
    }
    match c.call(Request::Status {}).unwrap() {
        Response::Requests { .. } => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_bytes() {
    let d = daemon();
    let mut s = raw(&d);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (code, msg) = error_of(answer(&mut s));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("larger than the limit"), "{msg}");
    assert!(closed(&mut s));
    still_serves(&d);
}

#[test]
fn frame_announcing_4_gib() {
    let d = daemon();
    let mut s = raw(&d);
    s.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let (code, msg) = error_of(answer(&mut s));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("4294967295"), "{msg}");
    assert!(closed(&mut s));
    still_serves(&d);
}

#[test]
fn frame_cut_in_the_middle() {
    let d = daemon();
    let mut s = raw(&d);
    let full =
        frame::encode(&serde_json::json!({"version": 1, "request": {"op": "status"}})).unwrap();
    s.write_all(&full[..full.len() - 5]).unwrap();
    let start = Instant::now();
    let (_, msg) = error_of(answer(&mut s));
    assert!(msg.contains("not completed"), "{msg}");
    assert!(start.elapsed() < Duration::from_secs(8));
    // And a client that hangs up mid-frame does not disturb anyone.
    let mut s2 = raw(&d);
    s2.write_all(&full[..full.len() - 5]).unwrap();
    drop(s2);
    still_serves(&d);
}

#[test]
fn invalid_utf8_and_invalid_json_keep_the_connection() {
    let d = daemon();
    let mut s = raw(&d);
    let mut f = 3u32.to_be_bytes().to_vec();
    f.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    s.write_all(&f).unwrap();
    let (code, msg) = error_of(answer(&mut s));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("UTF-8"), "{msg}");
    for bad in [
        r#"{"version":1}"#,
        r#"{"version":1,"request":{"op":"explode"}}"#,
        r#"{"version":1,"request":{"op":"request","role":"a,b"}}"#,
        r#"{"version":1,"request":{"op":"status","uid":0}}"#,
        r#"{"version":1,"uid":0,"request":{"op":"status"}}"#,
        "[1,2,3]",
    ] {
        let mut f = (bad.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(bad.as_bytes());
        s.write_all(&f).unwrap();
        let (code, msg) = error_of(answer(&mut s));
        assert_eq!(code, ErrorCode::BadRequest, "{bad}: {msg}");
        assert!(msg.starts_with("invalid request"), "{bad}: {msg}");
    }
    // Wrong protocol version: clear error, connection stays usable.
    let f = frame::encode(&serde_json::json!({"version": 99, "request": {"op": "ping"}})).unwrap();
    s.write_all(&f).unwrap();
    let (code, msg) = error_of(answer(&mut s));
    assert_eq!(code, ErrorCode::Version);
    assert!(msg.contains("99"), "{msg}");
    let f = frame::encode(&serde_json::json!({"version": 1, "request": {"op": "ping"}})).unwrap();
    s.write_all(&f).unwrap();
    assert!(matches!(
        answer(&mut s).unwrap().response,
        Response::Pong { .. }
    ));
    still_serves(&d);
}

#[test]
fn client_that_sends_nothing_is_dropped() {
    let d = daemon();
    let mut s = raw(&d);
    let start = Instant::now();
    let (_, msg) = error_of(answer(&mut s));
    assert!(msg.contains("no request received"), "{msg}");
    assert!(closed(&mut s));
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert!(start.elapsed() < Duration::from_secs(8));
    still_serves(&d);
}

#[test]
fn a_thousand_connections_at_once() {
    let mut d = daemon();
    let mut conns = Vec::new();
    for _ in 0..1000 {
        match UnixStream::connect(&d.socket) {
            Ok(s) => conns.push(s),
            Err(e) => panic!("connect failed after {} connections: {e}", conns.len()),
        }
    }
    // Beyond max_connections, clients are told so and closed.
    let mut told = 0;
    for s in conns.iter_mut().skip(900) {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        if let Some(m) = answer(s) {
            if let Response::Error {
                code: ErrorCode::Limit,
                message,
            } = m.response
            {
                assert!(message.contains("too many connections"));
                told += 1;
            }
        }
    }
    assert!(told > 0, "no connection was refused with a limit error");
    drop(conns);
    // The daemon frees a connection's slot when it reads the close, which
    // it does in its own time: a new client may meet the limit for a
    // moment, and must be served once the closes are read.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match d.client().call(Request::Ping {}) {
            Ok(Response::Error {
                code: ErrorCode::Limit,
                ..
            }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => break,
        }
    }
    still_serves(&d);
    assert!(d.running());
}
