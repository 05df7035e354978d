//! A client that opens connections and keeps them: for tests of the
//! per-user connection limit.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;

use elevated_proto::{frame, ClientMessage, Request, Response, PROTOCOL_VERSION};
use serde_json::json;

use super::{read_answer, Plan, ANSWER_TIMEOUT};

/// Opens `plan.threads` connections one after another, pings on each, and
/// prints `{"held": N, "refused": [messages]}`; then keeps the connections
/// that were answered until stdin closes.
pub fn hold(plan: &Plan) -> i32 {
    let mut held = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..plan.threads {
        let Ok(mut s) = UnixStream::connect(&plan.socket) else {
            refused.push("connect failed".to_owned());
            continue;
        };
        let _ = s.set_read_timeout(Some(ANSWER_TIMEOUT));
        let ping = ClientMessage {
            version: PROTOCOL_VERSION,
            request: Request::Ping {},
        };
        let _ = frame::write_frame(&mut s, &ping);
        match read_answer(&mut s).map(|a| a.map(|m| m.response)) {
            Ok(Some(Response::Pong { .. })) => held.push(s),
            Ok(Some(Response::Error { message, .. })) => refused.push(message),
            other => refused.push(format!("{other:?}")),
        }
    }
    let line = json!({"held": held.len(), "refused": refused});
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    drop(out);
    let _ = io::stdin().read_to_end(&mut Vec::new());
    drop(held);
    0
}
