//! Keeps one connection to the daemon for its whole life: reads one JSON
//! request per line on stdin, sends it over that connection and prints the
//! JSON response as one line. Tests run it as a test user to prove that
//! what the daemon knows about the caller is not frozen per connection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, Write};

use elevated_proto::{Client, Request, Timeouts};

fn main() {
    let socket = std::env::var_os("ELEVATE_SOCKET").expect("ELEVATE_SOCKET");
    let mut c = Client::connect(socket.as_ref(), Timeouts::default()).unwrap();
    let stdout = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let req: Request = serde_json::from_str(&line.unwrap()).unwrap();
        let resp = c.call(req).unwrap();
        let mut out = stdout.lock();
        writeln!(out, "{}", serde_json::to_string(&resp).unwrap()).unwrap();
        out.flush().unwrap();
    }
}
