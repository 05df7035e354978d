//! 3. Status round trips over the socket: a raw protocol loop with 1, 16
//!    and 256 concurrent clients (each its own connection, one request at
//!    a time), `Ping` as the baseline (the server path without the engine);
//!    and `elevate status --json` as a whole command.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use elevated_proto::{Client, Request, Response, Timeouts};
use elevated_tests::bin;

use crate::stats::{row, summary, HEADER};
use crate::{Bed, Size};

/// `--load SOCKET ping|status CLIENTS SECONDS`: run as the bench user,
/// prints `ROUND_TRIPS ELAPSED_MS`.
pub fn child(args: &[String]) {
    let socket = PathBuf::from(&args[0]);
    let kind = args[1].clone();
    let clients: usize = args[2].parse().unwrap();
    let secs: u64 = args[3].parse().unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(10),
        read: Duration::from_secs(30),
        write: Duration::from_secs(10),
    };
    // Every client connects first; the clock starts when all are ready.
    let ready = Arc::new(Barrier::new(clients + 1));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (socket, kind, ready) = (socket.clone(), kind.clone(), ready.clone());
            std::thread::spawn(move || {
                let mut c = Client::connect(&socket, timeouts).unwrap();
                ready.wait();
                let end = Instant::now() + Duration::from_secs(secs);
                let mut n = 0u64;
                while Instant::now() < end {
                    let request = if kind == "ping" {
                        Request::Ping {}
                    } else {
                        Request::Status {}
                    };
                    match c.call(request).unwrap() {
                        Response::Pong { .. } | Response::Requests { .. } => n += 1,
                        other => panic!("unexpected answer {other:?}"),
                    }
                }
                n
            })
        })
        .collect();
    ready.wait();
    let start = Instant::now();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("{total} {}", start.elapsed().as_millis());
}

fn rate(bed: &Bed, kind: &str, clients: usize, secs: u64) -> f64 {
    let exe = std::env::current_exe().unwrap();
    let out = bed
        .as_user(exe.to_str().unwrap())
        .args(["--load", bed.daemon.socket.to_str().unwrap(), kind])
        .arg(clients.to_string())
        .arg(secs.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "load child failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let n: f64 = parts.next().unwrap().parse().unwrap();
    let ms: f64 = parts.next().unwrap().parse().unwrap();
    n / (ms / 1000.0)
}

pub fn status(bed: &Bed, size: Size) {
    // The user holds one grant, so a status answer carries a real row.
    let id = crate::cases::grant(bed, "bench");
    println!("## 3. Status round trips\n");
    println!("| clients | `Ping` /s (baseline) | `Status` /s | ratio |\n|---:|---:|---:|---:|");
    for clients in [1usize, 16, 256] {
        let ping = rate(bed, "ping", clients, size.load_secs);
        let status = rate(bed, "status", clients, size.load_secs);
        println!(
            "| {clients} | {ping:.0} | {status:.0} | {:.3} |",
            status / ping
        );
    }
    let elevate = bin("elevate");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..size.iterations / 2 {
        let mut c = bed.as_user(elevate.to_str().unwrap());
        c.args(["status", "--json"]).stdout(Stdio::null());
        let start = Instant::now();
        assert!(c.status().unwrap().success());
        a.push(start.elapsed());
        let start = Instant::now();
        assert!(bed.as_user("/usr/bin/true").status().unwrap().success());
        b.push(start.elapsed());
    }
    println!("\n(target ≥ 10,000 status round trips/s with 16 clients)\n\n{HEADER}");
    println!(
        "{}",
        row("`/usr/bin/true` as the user (baseline)", &summary(&b))
    );
    println!("{}", row("`elevate status --json`", &summary(&a)));
    println!();
    crate::cases::revoke(bed, &id);
}
