//! Connection limits with real users: one user holding connections cannot
//! lock out the others, is told clearly why it is refused, and gets its
//! slots back when its connections close.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use elevated_proto::{Request, Response};
use elevated_tests::daemon::text;
use elevated_tests::soak::{Kind, Plan};
use elevated_tests::{as_user, require_root, Daemon, TestUser};

const CLIENT: &str = env!("CARGO_BIN_EXE_elvt-soak-client");

#[test]
fn one_user_cannot_hold_every_connection() {
    require_root();
    let hog = TestUser::new("hog", &[]);
    let other = TestUser::new("oth", &[]);
    let mut d = Daemon::new("[limits]\nmax_connections = 8\nmax_connections_per_user = 3\n");
    d.start();
    let plan = Plan {
        socket: d.socket.clone(),
        sudoers: d.sudoers.clone(),
        host: d.host.clone(),
        user: hog.name.clone(),
        kind: Kind::Hold,
        threads: 5,
        seconds: 0,
    };
    let args = plan.args("hold");
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut holder = as_user(&hog, CLIENT, &refs)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(report["held"], 3, "{report}");
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{report}");
    for msg in refused {
        let msg = msg.as_str().unwrap();
        assert!(
            msg.contains("too many connections from your user (3"),
            "{msg}"
        );
    }

    // Everyone else is still served, and the hog is told why it is not.
    let out = d.elevate(Some(&other), &["status"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let mut c = d.client();
    assert!(matches!(
        c.call(Request::Ping {}).unwrap(),
        Response::Pong { .. }
    ));
    drop(c);
    let out = d.elevate(Some(&hog), &["status"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("too many connections from your user"),
        "{:?}",
        text(&out)
    );

    // Its slots come back once its connections close.
    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());
    let start = Instant::now();
    loop {
        let out = d.elevate(Some(&hog), &["status"]);
        if out.status.success() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "slots not given back: {:?}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
