//! The load and bad-input soak: a thousand concurrent clients against the
//! real daemon with its default limits, valid ones (readers, automatic
//! grants from several users writing real drop-ins, requests an approver
//! decides, revocations, one user flooding pending requests) mixed with
//! hostile ones (see `elevated_tests::soak::hostile`).
//!
//! Asserted at the end: every valid request got the right kind of answer,
//! every hostile connection got an error or was closed, the daemon still
//! serves, its memory stayed flat, its descriptors are back to where they
//! were, no grant outlived the run, and the audit chain verifies with
//! exactly one `granted` row per grant the clients saw.
//!
//! `ELEVATED_SOAK_SECONDS` sets the length (default 20); run with
//! `--nocapture` to see the summary line. See docs/soak.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use elevated_proto::{Request, Response};
use elevated_tests::daemon::text;
use elevated_tests::soak::monitor::{self, Sampler};
use elevated_tests::soak::valid::{flood_role, AUTO, FLOOD_ROLES, GATED};
use elevated_tests::soak::{Plan, Tally};
use elevated_tests::{as_user, require_root, Daemon, TestGroup, TestUser};

const CLIENT: &str = env!("CARGO_BIN_EXE_elvt-soak-client");

/// Memory the daemon may gain between the first and the last third of the
/// run. The first third already holds the peak working set (a thousand
/// connections, the blocking pool at full size, SQLite's page cache, the
/// allocator's per-thread arenas), so what is left is allocator noise;
/// a leak of even 100 bytes per connection would exceed it in the long run.
const RSS_MARGIN_KIB: u64 = 8 * 1024;

/// The daemon's default `max_pending_per_user`.
const PENDING_LIMIT: i64 = 5;
/// Descriptors the daemon's pool of read connections may keep open once
/// warmed up (4 connections, each with the database, its WAL and its
/// shared-memory file): opened under load, kept, never more.
const READ_POOL_FDS: usize = 4 * 3;

fn seconds() -> u64 {
    std::env::var("ELEVATED_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

fn refs(v: &[TestUser]) -> Vec<&TestUser> {
    v.iter().collect()
}

fn names(users: &[&TestUser]) -> String {
    users
        .iter()
        .map(|u| format!("\"{}\"", u.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn policy(auto: &[&TestUser], req: &[&TestUser], leads: &TestGroup, flood: &TestUser) -> String {
    format!(
        "[roles.{AUTO}]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\nmax_duration = \"10m\"\n\n\
         [roles.{GATED}]\nsudo = {{ commands = [\"/usr/bin/whoami\"] }}\nmax_duration = \"1h\"\n\n\
         [[rules]]\nrole = \"{AUTO}\"\nwho = {{ users = [{a}] }}\n\n\
         [[rules]]\nrole = \"{GATED}\"\nwho = {{ users = [{r}] }}\n\
         approval = {{ count = 1, approvers = {{ groups = [\"{g}\"] }} }}\n\n{floods}",
        a = names(auto),
        r = names(req),
        g = leads.name,
        floods = (0..FLOOD_ROLES)
            .map(|i| format!(
                "[roles.{n}]\nsudo = {{ commands = [\"/usr/bin/true\"] }}\n\n\
                 [[rules]]\nrole = \"{n}\"\nwho = {{ users = [\"{f}\"] }}\n\
                 approval = {{ count = 1, approvers = {{ users = [\"root\"] }} }}\n\n",
                n = flood_role(i),
                f = flood.name,
            ))
            .collect::<String>(),
    )
}

/// One worker process and the thread collecting its report.
struct Worker {
    label: String,
    pid: u32,
    reader: JoinHandle<(String, bool)>,
}

fn spawn(label: &str, user: Option<&TestUser>, plan: &Plan, kind: &str) -> Worker {
    let args = plan.args(kind);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = match user {
        Some(u) => as_user(u, CLIENT, &refs),
        None => {
            let mut c = Command::new(CLIENT);
            c.args(&refs);
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        let ok = child.wait().is_ok_and(|st| st.success());
        (s, ok)
    });
    Worker {
        label: label.to_owned(),
        pid,
        reader,
    }
}

/// Waits for every worker (killing them all if they outlive `deadline`)
/// and returns (label, tally) pairs.
fn collect(workers: Vec<Worker>, deadline: Instant) -> Vec<(String, Tally)> {
    while workers.iter().any(|w| !w.reader.is_finished()) {
        if Instant::now() > deadline {
            for w in &workers {
                let _ = Command::new("kill").arg(w.pid.to_string()).status();
            }
            panic!("soak workers did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    workers
        .into_iter()
        .map(|w| {
            let (out, ok) = w.reader.join().unwrap();
            assert!(ok, "worker {} failed: {out}", w.label);
            let line = out.lines().last().unwrap_or_default();
            let tally: Tally = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("worker {}: {e}: {out}", w.label));
            (w.label, tally)
        })
        .collect()
}

fn count(d: &Daemon, sql: &str) -> i64 {
    d.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn ids(d: &Daemon, sql: &str) -> BTreeSet<String> {
    let db = d.db();
    let mut stmt = db.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// Polls `cond` every 200 ms for up to `limit`; returns whether it held.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    cond()
}

#[test]
fn a_thousand_clients_good_and_hostile() {
    require_root();
    let secs = seconds();
    let leads = TestGroup::new("sklead");
    let auto: Vec<TestUser> = (0..4).map(|_| TestUser::new("ska", &[])).collect();
    let req: Vec<TestUser> = (0..4).map(|_| TestUser::new("skr", &[])).collect();
    let appr: Vec<TestUser> = (0..2).map(|_| TestUser::new("skp", &[&leads])).collect();
    let plain: Vec<TestUser> = (0..2).map(|_| TestUser::new("sku", &[])).collect();
    let flood = TestUser::new("skf", &[]);
    let mallory = TestUser::new("skm", &[]);

    // Default limits (the soak checks what an installed daemon does), but
    // for the per-user request rate: four users play a few hundred valid
    // clients here, far past what one person sends in a minute (the rate
    // limit has tests of its own).
    let mut d = Daemon::new(
        "[limits]\nrequests_per_minute = 1000000\nrequest_bytes_per_minute = 1073741824\n",
    );
    d.policy(
        "10-soak.toml",
        &policy(&refs(&auto), &refs(&req), &leads, &flood),
    );
    d.start();
    let pid = d.pid();

    // Warm up the paths every later request takes, then take the baseline.
    let mut c = d.client();
    for r in [
        Request::Ping {},
        Request::Status {},
        Request::AuditVerify {},
    ] {
        assert!(!matches!(c.call(r).unwrap(), Response::Error { .. }));
    }
    drop(c);
    assert!(eventually(Duration::from_secs(10), || monitor::fds(pid) > 0));
    std::thread::sleep(Duration::from_millis(500));
    let base = monitor::sample(pid, Instant::now()).unwrap();

    let plan = |user: &str, threads: usize| Plan {
        socket: d.socket.clone(),
        sudoers: d.sudoers.clone(),
        host: d.host.clone(),
        user: user.to_owned(),
        kind: elevated_tests::soak::Kind::Reader,
        threads,
        seconds: secs,
    };
    let sampler = Sampler::start(pid);
    let started = Instant::now();
    // 1,000 client threads, each holding one connection at a time.
    let mut specs: Vec<(&str, Option<&TestUser>, usize, &str)> = vec![
        ("root readers", None, 470, "reader"),
        ("root hostile", None, 300, "hostile"),
        ("mallory hostile", Some(&mallory), 48, "hostile"),
        ("flood", Some(&flood), 24, "flood"),
    ];
    specs.extend(auto.iter().map(|u| ("auto", Some(u), 24, "auto")));
    specs.extend(req.iter().map(|u| ("requester", Some(u), 4, "requester")));
    specs.extend(appr.iter().map(|u| ("approver", Some(u), 2, "approver")));
    specs.extend(
        plain
            .iter()
            .map(|u| ("user readers", Some(u), 21, "reader")),
    );
    let clients: usize = specs.iter().map(|s| s.2).sum();
    assert_eq!(clients, 1000);
    let workers: Vec<Worker> = specs
        .iter()
        .map(|&(label, user, threads, kind)| {
            let name = user.map_or("root", |u| u.name.as_str());
            spawn(label, user, &plan(name, threads), kind)
        })
        .collect();
    let reports = collect(workers, Instant::now() + Duration::from_secs(secs + 300));
    let load = started.elapsed();
    let samples = sampler.stop();

    // Clients are gone: descriptors return to the baseline (plus the read
    // pool, once warmed up), grants end.
    let fds_back = eventually(Duration::from_secs(30), || {
        monitor::fds(pid) <= base.fds + READ_POOL_FDS
    });
    let end = monitor::sample(pid, Instant::now()).unwrap();
    let no_active = eventually(Duration::from_secs(30), || {
        count(&d, "SELECT count(*) FROM requests WHERE state = 'active'") == 0
    });

    let mut valid = Tally::default();
    let mut hostile = Tally::default();
    for (label, t) in reports {
        if label.contains("hostile") {
            hostile.merge(t);
        } else {
            valid.merge(t);
        }
    }
    // Memory is compared over the time all clients ran, not the drain.
    let loaded: Vec<_> = samples
        .iter()
        .copied()
        .filter(|s| s.at <= Duration::from_secs(secs))
        .collect();
    let [first, _, last] = monitor::rss_thirds(&loaded);
    let peak = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let peak_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    let peak_threads = samples.iter().map(|s| s.threads).max().unwrap_or(0);
    let kinds: Vec<String> = hostile
        .hostile
        .iter()
        .map(|(k, o)| {
            format!(
                "{k}={}(err {} closed {} ok {} busy {} bad {})",
                o.runs, o.error_answer, o.closed, o.recovered, o.busy, o.unexpected
            )
        })
        .collect();
    println!(
        "soak summary: clients={clients} duration={:.0}s connections={} valid_sent={} valid_answered={} \
         raced={} pending_limited={} busy_retries={} grants={} requests={} hostile_runs={} \
         hostile_busy={} rss_kib start={} first_third_max={} peak={} last_third_max={} end={} \
         fds start={} peak={} end={} threads peak={} hostile: {}",
        load.as_secs_f64(),
        valid.connections + hostile.connections,
        valid.sent,
        valid.answered,
        valid.raced,
        valid.limited,
        valid.busy,
        valid.activated.len(),
        valid.requested.len(),
        hostile.hostile.values().map(|o| o.runs).sum::<u64>(),
        hostile.hostile.values().map(|o| o.busy).sum::<u64>(),
        base.rss_kib,
        first,
        peak,
        last,
        end.rss_kib,
        base.fds,
        peak_fds,
        end.fds,
        peak_threads,
        kinds.join(" "),
    );

    let series: Vec<String> = samples
        .iter()
        .map(|s| format!("{:.1}", s.rss_kib as f64 / 1024.0))
        .collect();
    println!("soak rss MiB, one a second: {}", series.join(" "));

    // Every valid request was answered, with the right kind of answer.
    assert_eq!(valid.problems, 0, "valid clients: {:#?}", valid.examples);
    assert_eq!(valid.sent, valid.answered);
    assert!(
        valid.sent >= 1000,
        "too little valid traffic: {}",
        valid.sent
    );
    assert!(!valid.activated.is_empty() && valid.limited > 0);
    // Every hostile connection got an error or was closed; every kind ran.
    assert_eq!(hostile.problems, 0, "{:#?}", hostile.examples);
    for (k, o) in &hostile.hostile {
        assert_eq!(o.unexpected, 0, "{k}: {:#?}", hostile.examples);
    }
    assert_eq!(hostile.hostile.len(), 15, "{:?}", hostile.hostile.keys());
    // One user's flood stopped at the per-user limit, exactly.
    let flood_pending = count(
        &d,
        &format!(
            "SELECT count(*) FROM requests WHERE uid = {} AND state = 'pending'",
            flood.uid
        ),
    );
    assert_eq!(flood_pending, PENDING_LIMIT);
    // Still running and serving.
    assert!(d.running(), "elevated died:\n{}", d.log_text());
    let mut c = d.client();
    assert!(matches!(
        c.call(Request::Ping {}).unwrap(),
        Response::Pong { .. }
    ));
    drop(c);
    // Memory flat, descriptors back.
    assert!(
        last <= first + RSS_MARGIN_KIB,
        "RSS grew: first third max {first} KiB, last third max {last} KiB"
    );
    assert!(
        fds_back,
        "descriptors: {} before, {} after: {:?}",
        base.fds,
        monitor::fds(pid),
        monitor::fd_targets(pid)
    );
    // No grant outlived the run, and no drop-in outlived its grant.
    assert!(no_active, "grants still active after the run");
    assert_eq!(d.dropins(), Vec::<String>::new());
    // The audit chain verifies, with one `granted` row per grant seen.
    let out = d.elevate(None, &["audit", "--verify"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let granted = ids(&d, "SELECT request_id FROM audit WHERE event = 'granted'");
    assert_eq!(
        count(&d, "SELECT count(*) FROM audit WHERE event = 'granted'"),
        i64::try_from(granted.len()).unwrap(),
        "a request was granted twice"
    );
    assert_eq!(granted, valid.activated);
    let requested = ids(&d, "SELECT request_id FROM audit WHERE event = 'requested'");
    assert_eq!(requested, valid.requested);
    assert!(!d.log_text().contains("panicked"), "a task panicked");
}
