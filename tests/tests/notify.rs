//! Notifications from a real daemon to webhook receivers on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};

/// A receiver that records each POST body and answers 200.
fn receiver() -> (String, mpsc::Receiver<serde_json::Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_ok() {
                let _ = tx.send(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null));
            }
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, rx)
}

/// A receiver that accepts connections and never answers.
fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    url
}

#[test]
fn decisions_reach_webhooks_and_a_dead_endpoint_delays_nothing() {
    require_root();
    let alice = TestUser::new("w", &[]);
    let bob = TestUser::new("v", &[]);
    let (url, rx) = receiver();
    let dead = black_hole();
    let mut d = Daemon::new(&format!(
        "[[notify.webhook]]\nurl = \"{dead}\"\ntimeout = \"30s\"\n\n\
         [[notify.webhook]]\nurl = \"{url}\"\nformat = \"json\"\n"
    ));
    d.policy(
        "10-ops.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n[[rules]]\nrole = \"ops\"\n\
             who = {{ users = [\"{}\"] }}\napproval = {{ count = 1, approvers = {{ users = [\"{}\"] }} }}\n",
            alice.name, bob.name
        ),
    );
    d.start();
    let out = d.elevate(
        Some(&alice),
        &[
            "--json",
            "request",
            "ops",
            "--no-wait",
            "--reason",
            "<!channel> deploy",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_str().unwrap().to_owned();

    let created = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no request_created event");
    assert_eq!(created["event"], "request_created");
    assert_eq!(created["id"], id.as_str());
    assert_eq!(
        created["approve_command"],
        format!("elevate approve {id}").as_str()
    );
    assert!(created["approval_text"]
        .as_str()
        .unwrap()
        .contains(&format!("request: {id}")));
    assert_eq!(created["reason"], "<!channel> deploy");

    // The endpoint that never answers does not hold up the decision.
    let start = Instant::now();
    let out = d.elevate(Some(&bob), &["approve", &id]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "approval took {:?}",
        start.elapsed()
    );
    let approved = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no approved event");
    assert_eq!(approved["event"], "approved");
    assert_eq!(approved["decided_by"], bob.name.as_str());
}

#[test]
fn a_break_glass_extension_is_announced_like_the_grant() {
    require_root();
    let user = TestUser::new("g", &[]);
    let approver = TestUser::new("h", &[]);
    let (url, rx) = receiver();
    let mut d = Daemon::new(&format!(
        "[[notify.webhook]]\nurl = \"{url}\"\nformat = \"json\"\nevents = [\"break_glass\"]\n"
    ));
    d.policy(
        "10-glass.toml",
        &format!(
            "[roles.glass]\nsudo = {{ commands = [\"/usr/bin/whoami\"] }}\nmax_duration = \"1h\"\n\n\
             [[rules]]\nrole = \"glass\"\nwho = {{ users = [\"{}\"] }}\n\
             approval = {{ count = 0, break_glass = true, approvers = {{ users = [\"{}\"] }} }}\n",
            user.name, approver.name
        ),
    );
    d.start();
    let out = d.elevate(
        Some(&user),
        &[
            "--json", "request", "glass", "--for", "10m", "--reason", "down",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_str().unwrap().to_owned();
    let granted = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no break_glass event for the grant");
    assert_eq!(granted["event"], "break_glass");
    assert_eq!(granted["id"], id.as_str());

    let out = d.elevate(Some(&user), &["extend", &id, "--for", "10m"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let extended = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no break_glass event for the extension");
    assert_eq!(extended["event"], "break_glass");
    assert_eq!(extended["id"], id.as_str());
    assert_eq!(extended["duration_secs"], 1200);
}
