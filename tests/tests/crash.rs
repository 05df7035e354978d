//! The crash-fault campaign: random requests, approvals, revocations,
//! extensions and expiries against a daemon built with fault points,
//! SIGKILL at random moments and inside grant writes and revocations,
//! and after every restart the invariants of `elevated_tests::crash::check`.
//!
//! `ELEVATED_CRASH_CYCLES` (default 70) sets the number of kill cycles per
//! seed, `ELEVATED_CRASH_SEEDS` (default 3) the number of fresh seeds, and
//! `ELEVATED_CRASH_SEED` (one seed, or several separated by commas) replays
//! those campaigns' choices (every seed is printed). docs/testing.md has
//! the details.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use elevated_tests::crash::campaign::{self, POINTS};
use elevated_tests::crash::rng::{clock_seed, Rng};
use elevated_tests::crash::world::FAULT_BINARY;
use elevated_tests::daemon::{elevate_at, text};
use elevated_tests::{require_root, Daemon, TestGroup, TestUser};

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
    )
}

/// Seeds per run when `ELEVATED_CRASH_SEED` is not set, and cycles per
/// seed when `ELEVATED_CRASH_CYCLES` is not: `scripts/test` runs this, and
/// three seeds of 70 cycles keep it within a few minutes (docs/testing.md).
const DEFAULT_SEEDS: u64 = 3;
const DEFAULT_CYCLES: u64 = 70;

/// The seeds to run: `ELEVATED_CRASH_SEED` (one, or several separated by
/// commas) replays; otherwise `ELEVATED_CRASH_SEEDS` (default 3) fresh ones
/// from the clock, so that every run explores new ground.
fn seeds() -> Vec<u64> {
    if let Ok(v) = std::env::var("ELEVATED_CRASH_SEED") {
        return v
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("ELEVATED_CRASH_SEED={v:?}: {e}"))
            })
            .collect();
    }
    let n = env_u64("ELEVATED_CRASH_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let mut rng = Rng::new(clock_seed());
    (0..n).map(|_| rng.next_u64()).collect()
}

#[test]
fn crash_campaign_keeps_every_invariant() {
    require_root();
    let seeds = seeds();
    let cycles = env_u64("ELEVATED_CRASH_CYCLES").unwrap_or(DEFAULT_CYCLES);
    let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
    eprintln!(
        "crash campaign: {cycles} cycles for each of the seeds {} (replay with ELEVATED_CRASH_SEED={})",
        list.join(", "),
        list.join(",")
    );
    let reports: Vec<_> = seeds.iter().map(|s| campaign::run(*s, cycles)).collect();
    let mut failed = Vec::new();
    for report in &reports {
        eprintln!("{report}");
        for (cycle, v) in &report.violations {
            eprintln!("seed {} cycle {cycle}: {v}", report.seed);
        }
        if !report.violations.is_empty() || report.cycles != cycles {
            failed.push(report.seed);
        }
    }
    assert!(
        failed.is_empty(),
        "violations with the seeds {failed:?} (replay with ELEVATED_CRASH_SEED=<seed>)"
    );
    for report in &reports {
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

fn members(group: &TestGroup) -> Vec<String> {
    let out = Command::new("getent")
        .args(["group", &group.name])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let list = line.rsplit(':').next().unwrap_or("");
    list.split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        // A bound against hanging, not a speed requirement.
        assert!(t.elapsed() < Duration::from_secs(30), "no {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Found by the campaign: the daemon was killed while `gpasswd -a` ran; the
/// restarted daemon reconciled (the user was not a member yet, so it closed
/// the journal row), then the orphaned gpasswd finished and left a
/// membership nobody owed or would take back. A slow gpasswd (already past
/// its output, which a real one may be while it waits for the group file
/// lock) makes that moment wide enough to hit every time.
#[test]
fn a_gpasswd_cut_off_by_a_crash_changes_nothing_after_the_restart() {
    require_root();
    let group = TestGroup::new("go");
    let user = TestUser::new("go", &[]);
    let mut d = Daemon::new("");
    let dir = d.dir.path().to_path_buf();
    let pidfile = dir.join("gpasswd.pid");
    d.file(
        "slow-gpasswd",
        &format!(
            "#!/bin/sh\necho $$ > {}\nsleep 1\nexec /usr/bin/gpasswd \"$@\" >/dev/null 2>&1\n",
            pidfile.display()
        ),
        0o755,
    );
    let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        &format!(
            "[daemon]\ngpasswd = \"{}\"\n",
            dir.join("slow-gpasswd").display()
        ),
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
    d.policy(
        "10-g.toml",
        &format!(
            "[roles.grp]\ngroups = [\"{}\"]\n\n[[rules]]\nrole = \"grp\"\nwho = {{ users = [\"{}\"] }}\n",
            group.name, user.name
        ),
    );
    d.start();
    let socket = d.socket.clone();
    std::thread::scope(|s| {
        let asked = s.spawn(|| {
            elevate_at(
                &socket,
                Some(&user),
                &["--json", "request", "grp", "--for", "1m"],
            )
        });
        wait_for("gpasswd start", || pidfile.exists());
        d.kill();
        let out = asked.join().unwrap();
        assert_eq!(out.status.code(), Some(69), "{:?}", text(&out));
    });
    d.start();
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    wait_for("end of the cut-off gpasswd", || !proc_dir.exists());
    assert!(
        !members(&group).contains(&user.name),
        "a membership of a grant never committed appeared after the restart: {:?}",
        members(&group)
    );
    let n: i64 = d
        .db()
        .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}
