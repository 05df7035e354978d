//! 7. Logins under one user's read flood: the PAM account check while 32
//!    clients of one user send `audit`, `audit --verify` and `list` back to
//!    back over a store of 100,000+ audit rows, against the same check on
//!    the same store with no load.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use elevated_proto::{AuditQuery, ListFilter, Request};
use elevated_tests::bigstore::grow_audit;
use elevated_tests::bin;
use elevated_tests::pam::PamService;

use crate::cases::{grant, revoke};
use crate::stats::{ms, ratio, row, summary, HEADER};
use crate::{Bed, Size};

/// Clients of the one user: the default share of one user.
const CLIENTS: usize = 32;

/// The PAM account check, timed, and whether it allowed (it should: the
/// user holds a login grant; `fail=closed` refuses when the daemon does
/// not answer within the module's timeout).
fn account(service: &str, user: &str) -> (Duration, bool) {
    let start = Instant::now();
    let out = Command::new("pamtester")
        .args([service, user, "acct_mgmt"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (start.elapsed(), out.status.success())
}

/// `n` timed account checks: the times, and how many were refused.
fn accounts(service: &str, user: &str, n: usize) -> (Vec<Duration>, usize) {
    let (mut times, mut refused) = (Vec::new(), 0);
    for _ in 0..n {
        let (took, ok) = account(service, user);
        times.push(took);
        refused += usize::from(!ok);
    }
    (times, refused)
}

/// `elvt-one-connection` processes as the bench user, each sending rounds
/// of `audit --verify`, `audit` and `list` over its one connection.
fn hammers(bed: &Bed, dir: &std::path::Path) -> Vec<Child> {
    let script = dir.join("stall-rounds.jsonl");
    let mut f = std::fs::File::create(&script).unwrap();
    let round = [
        Request::AuditVerify {},
        Request::Audit(AuditQuery {
            since: None,
            limit: Some(10_000),
        }),
        Request::List(ListFilter {
            pending: false,
            all: true,
            unreviewed: false,
        }),
    ];
    for _ in 0..20_000 {
        for r in &round {
            writeln!(f, "{}", serde_json::to_string(r).unwrap()).unwrap();
        }
    }
    drop(f);
    (0..CLIENTS)
        .map(|_| {
            bed.as_user(bin("elvt-one-connection").to_str().unwrap())
                .stdin(std::fs::File::open(&script).unwrap())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect()
}

/// Whether one of the user's verifications is running: a second one is
/// refused while it does.
fn verifying(bed: &Bed) -> bool {
    let out = bed
        .as_user(bin("elevate").to_str().unwrap())
        .args(["audit", "--verify"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).contains("already running")
}

pub fn run(bed: &Bed, size: Size) {
    let rows = size.audit_rows.max(100_000);
    grow_audit(&mut bed.daemon.db(), rows);
    let id = grant(bed, "bench-login");
    let socket = bed.daemon.socket.display().to_string();
    let pam = PamService::new(&format!("socket={socket} timeout=5"));
    let user = bed.user.name.clone();
    for _ in 0..size.iterations / 10 {
        account(&pam.name, &user);
    }
    let (idle, idle_refused) = accounts(&pam.name, &user, size.iterations);

    let dir = tempfile::tempdir().unwrap();
    let mut load = hammers(bed, dir.path());
    let mut seen = false;
    for _ in 0..100 {
        if verifying(bed) {
            seen = true;
            break;
        }
    }
    let (loaded, loaded_refused) = accounts(&pam.name, &user, size.iterations);
    let still: Vec<bool> = load
        .iter_mut()
        .map(|c| c.try_wait().unwrap().is_none())
        .collect();
    for c in &mut load {
        let _ = c.kill();
        let _ = c.wait();
    }
    revoke(bed, &id);

    let (si, sl) = (summary(&idle), summary(&loaded));
    println!("## 7. PAM account check under one user's read flood\n");
    println!(
        "{rows}+ audit rows; {CLIENTS} clients of the user holding the login grant send \
         `audit --verify`, `audit` and `list` back to back ({} of {CLIENTS} still running at \
         the end; a verification seen in progress: {seen}).\n",
        still.iter().filter(|r| **r).count()
    );
    println!("{HEADER}");
    println!(
        "{}",
        row("pamtester acct_mgmt, idle daemon (baseline)", &si)
    );
    println!("{}", row("pamtester acct_mgmt, under the read flood", &sl));
    println!(
        "\nratio p50 {} · ratio p99 {} · p99 under load {} (target < 1 s) · logins refused \
         (grant held, `fail=closed`): idle {idle_refused}, under load {loaded_refused} \
         (target 0)\n",
        ratio(sl.p50, si.p50),
        ratio(sl.p99, si.p99),
        ms(sl.p99)
    );
}
