//! The crash-fault campaign: random requests, approvals, revocations,
//! extensions and expiries against a daemon built with fault points,
//! SIGKILL at random moments and inside grant writes and revocations,
//! and after every restart the invariants of `elevated_tests::crash::check`.
//!
//! `ELEVATED_CRASH_CYCLES` (default 100) sets the number of kill cycles,
//! `ELEVATED_CRASH_SEED` replays a campaign's choices (its seed is
//! printed). docs/testing.md has the details.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use elevated_tests::crash::campaign::{self, POINTS};
use elevated_tests::crash::rng::clock_seed;
use elevated_tests::crash::world::FAULT_BINARY;
use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
    )
}

#[test]
fn crash_campaign_keeps_every_invariant() {
    require_root();
    let seed = env_u64("ELEVATED_CRASH_SEED").unwrap_or_else(clock_seed);
    let cycles = env_u64("ELEVATED_CRASH_CYCLES").unwrap_or(100);
    let report = campaign::run(seed, cycles);
    eprintln!("{report}");
    for (cycle, v) in &report.violations {
        eprintln!("cycle {cycle}: {v}");
    }
    assert!(report.violations.is_empty(), "{report}");
    assert_eq!(report.cycles, cycles, "{report}");
    if cycles >= POINTS.len() as u64 {
        for p in POINTS {
            assert!(
                report.fault_kills.contains_key(p),
                "fault point {p} never fired: {report}"
            );
        }
    }
    assert!(
        report.acks > cycles,
        "too little traffic got through: {report}"
    );
}

fn auto_daemon(binary: &str, user: &TestUser) -> Daemon {
    let d = Daemon::new("").with_binary(binary);
    d.policy(
        "10-auto.toml",
        &format!(
            "[roles.auto]\nsudo = {{ commands = [\"/usr/bin/true\"] }}\n\n\
             [[rules]]\nrole = \"auto\"\nwho = {{ users = [\"{}\"] }}\n",
            user.name
        ),
    );
    d
}

/// The fault build dies at an armed point and recovers at restart; the
/// normal build (what scripts/package ships) ignores the variable, which
/// shows the feature stayed out of it.
#[test]
fn only_the_fault_build_reacts_to_elevated_fault() {
    require_root();
    let user = TestUser::new("cf", &[]);
    let armed = [("ELEVATED_FAULT", "after_sudoers_rename:1")];

    let mut normal = auto_daemon("elevated", &user);
    normal.start_with(&[], &armed);
    let out = normal.elevate(Some(&user), &["--json", "request", "auto", "--for", "30s"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(
        normal.running(),
        "the normal build must not react to ELEVATED_FAULT"
    );
    assert_eq!(normal.dropins().len(), 1);
    assert!(!normal.log_text().contains("fault injection"));

    let mut faulty = auto_daemon(FAULT_BINARY, &user);
    faulty.start_with(&[], &armed);
    let out = faulty.elevate(Some(&user), &["--json", "request", "auto", "--for", "30s"]);
    assert_eq!(out.status.code(), Some(69), "{:?}", text(&out));
    let t = Instant::now();
    let status = loop {
        if let Some(s) = faulty.exited() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.signal(), Some(9), "{}", faulty.log_text());
    assert!(faulty
        .log_text()
        .contains("fault injection: SIGKILL at after_sudoers_rename"));
    // Renamed into place, never committed: the restart takes it away.
    assert_eq!(faulty.dropins().len(), 1);
    faulty.start();
    assert_eq!(faulty.dropins(), Vec::<String>::new());
    let n: i64 = faulty
        .db()
        .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "the grant was never acknowledged nor committed");
}
