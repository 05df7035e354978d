use std::os::unix::process::ExitStatusExt;

use elevated_proto::UserName;

use super::*;
use crate::grant::groups::{Added, Groups};
use crate::grant::sweep::Reason;
use crate::grant::test_host::{root_lock, Spawned, TestGroup, TestUser};

const BTIME: i64 = 1_700_000_000;

fn status_text(name: &str, ppid: u32, uid: u32, groups: &str) -> String {
    format!(
        "Name:\t{name}\nState:\tS (sleeping)\nPPid:\t{ppid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n\
         Gid:\t{uid}\t{uid}\t{uid}\t{uid}\nGroups:\t{groups} \n"
    )
}

fn stat_text(pid: u32, ppid: u32, flags: u64, start: u64) -> String {
    format!("{pid} (x) S {ppid} {pid} {pid} 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 1 0 {start} 1 1 1\n")
}

/// A fake `/proc`: (pid, stat, status, environ); `None` leaves a file out.
fn fixture(procs: &[(u32, String, Option<String>, &[u8])]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("stat"),
        format!("cpu  1 2 3\nbtime {BTIME}\nprocesses 5\n"),
    )
    .unwrap();
    fs::create_dir(d.path().join("sys")).unwrap();
    fs::write(d.path().join("uptime"), "1 1\n").unwrap();
    for (pid, stat, status, environ) in procs {
        let dir = d.path().join(pid.to_string());
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("stat"), stat).unwrap();
        if let Some(s) = status {
            fs::write(dir.join("status"), s).unwrap();
        }
        fs::write(dir.join("environ"), environ).unwrap();
    }
    d
}

#[test]
fn scans_a_fixture_tree() {
    let hz = clock(Path::new(PROC)).unwrap().ticks_per_sec;
    // Window: 600 s to 1200 s after boot.
    let t = |secs: u64| secs * hz;
    let d = fixture(&[
        (
            2,
            stat_text(2, 0, 0x20_8040, 1),
            Some(status_text("kthreadd", 0, 0, "")),
            b"",
        ),
        (
            40,
            stat_text(40, 1, 0x40_0100, t(10)),
            Some(status_text("bash", 1, 1000, "1000 1234")),
            b"HOME=/home/alice\0",
        ),
        (
            41,
            stat_text(41, 40, 0x40_0100, t(700)),
            Some(status_text("rootsh", 40, 0, "")),
            b"SUDO_USER=alice\0SUDO_UID=1000\0",
        ),
        (
            42,
            stat_text(42, 41, 0x40_0100, t(701)),
            Some(status_text("vim", 41, 0, "")),
            b"",
        ),
        // Gone half-way through the scan: no status.
        (43, stat_text(43, 1, 0x40_0100, t(702)), None, b""),
        (
            44,
            stat_text(44, 1, 0x40_0100, t(703)),
            Some("garbage".into()),
            b"",
        ),
    ]);
    let root = d.path();
    let c = clock(root).unwrap();
    assert_eq!(c.btime, BTIME);
    let procs = scan(root).unwrap();
    assert_eq!(
        procs.iter().map(|p| p.pid).collect::<Vec<_>>(),
        [2, 40, 41, 42]
    );
    assert_eq!(procs[2].env.uid, Some(1000));
    let target = Target {
        user: UserName::parse("alice").unwrap(),
        uid: 1000,
        gids: vec![1234],
        runas_uid: Some(0),
        starts_at: (BTIME + 600) * 1000,
        expires_at: (BTIME + 1200) * 1000,
        login_sessions: false,
    };
    let got = find(root, &target).unwrap();
    assert_eq!(
        got.iter().map(|v| (v.pid, v.reason)).collect::<Vec<_>>(),
        [
            (40, Reason::HoldsGroup { gid: 1234 }),
            (41, Reason::Sudo),
            (42, Reason::SudoDescendant { ancestor: 41 }),
        ]
    );
    assert_eq!(got[2].name, "vim");
    assert!(scan(&root.join("missing")).is_err());
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn outcome(r: &Report, pid: u32) -> Outcome {
    r.ended
        .iter()
        .find(|(v, _)| v.pid == pid)
        .map(|(_, o)| o.clone())
        .unwrap_or_else(|| panic!("{pid} not in {r:?}"))
}

/// Root: the real /proc, real processes, real signals.
#[test]
fn root_processes_holding_a_granted_group_are_terminated_or_killed() {
    let _lock = root_lock();
    let group = TestGroup::new("g");
    let user = TestUser::new("u", &[]);
    let g = Groups::default();
    assert_eq!(
        g.add(&user.user_name(), &group.group_name()).unwrap(),
        Added::Now
    );
    let mut polite = user.spawn(&[user.gid, group.gid], &[], &["sleep", "60"]);
    let mut stubborn = user.spawn(
        &[group.gid],
        &[],
        &["sh", "-c", "trap '' TERM; sleep 60; :"],
    );
    let mut bystander: Spawned = user.spawn(&[user.gid], &[], &["sleep", "60"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(g.remove(&user.user_name(), &group.group_name()).unwrap());

    let target = Target {
        user: user.user_name(),
        uid: user.uid,
        gids: vec![group.gid],
        runas_uid: None,
        starts_at: now_ms() - 60_000,
        expires_at: now_ms(),
        login_sessions: false,
    };
    let found = find(Path::new(PROC), &target).unwrap();
    let pids: Vec<u32> = found.iter().map(|v| v.pid).collect();
    assert!(pids.contains(&polite.pid()), "{found:?}");
    assert!(pids.contains(&stubborn.pid()), "{found:?}");
    assert!(!pids.contains(&bystander.pid()), "{found:?}");
    assert!(found
        .iter()
        .all(|v| v.reason == Reason::HoldsGroup { gid: group.gid } && v.uid == user.uid));

    let began = Instant::now();
    let report = terminate(&found, Duration::from_secs(1));
    assert!(began.elapsed() >= Duration::from_secs(1), "{report:?}");
    assert_eq!(outcome(&report, polite.pid()), Outcome::Terminated);
    assert_eq!(outcome(&report, stubborn.pid()), Outcome::Killed);
    assert!(report.all_gone(), "{report:?}");
    let st = polite.wait_for(Duration::from_secs(5)).unwrap();
    assert_eq!(st.signal(), Some(15));
    let st = stubborn.wait_for(Duration::from_secs(5)).unwrap();
    assert_eq!(st.signal(), Some(9));
    assert!(bystander.wait_for(Duration::from_millis(10)).is_none());

    // Signalling again: they are gone, and a reaped pid is never hit.
    let again = terminate(&found, Duration::from_secs(1));
    assert!(again.ended.iter().all(|(_, o)| *o == Outcome::AlreadyGone));
}

/// Root: a process started through sudo in the window, and its child whose
/// environment was cleaned, are found; one from before the window is not.
#[test]
fn root_sudo_sessions_in_the_window_are_found_with_descendants() {
    let _lock = root_lock();
    let user = TestUser::new("u", &[]);
    let starts_at = now_ms();
    let uid = user.uid.to_string();
    let env = [
        ("SUDO_UID", uid.as_str()),
        ("SUDO_USER", user.name.as_str()),
    ];
    let mut session = user.spawn(&[], &env, &["sh", "-c", "env -i sleep 60 & wait; :"]);
    let mut plain = user.spawn(&[], &[], &["sleep", "60"]);
    std::thread::sleep(Duration::from_millis(300));
    let mut target = Target {
        user: user.user_name(),
        uid: user.uid,
        gids: vec![],
        runas_uid: Some(user.uid),
        starts_at,
        expires_at: now_ms() + 60_000,
        login_sessions: false,
    };
    let found = find(Path::new(PROC), &target).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].pid, session.pid());
    assert_eq!(found[0].reason, Reason::Sudo);
    assert_eq!(
        found[1].reason,
        Reason::SudoDescendant {
            ancestor: session.pid()
        }
    );
    assert_ne!(found[1].pid, plain.pid());

    // Before the window: another grant's session.
    let old = Target {
        starts_at: starts_at + 120_000,
        expires_at: starts_at + 180_000,
        ..target.clone()
    };
    assert!(find(Path::new(PROC), &old).unwrap().is_empty());

    let report = end_processes(&target, Duration::from_secs(5), &Target::clone).unwrap();
    assert_eq!(report.ended.len(), 2, "{report:?}");
    assert!(
        report.ended.iter().all(|(_, o)| *o == Outcome::Terminated),
        "{report:?}"
    );
    assert!(session.wait_for(Duration::from_secs(5)).is_some());
    assert!(plain.wait_for(Duration::from_millis(10)).is_none());
    target.runas_uid = None;
    assert!(find(Path::new(PROC), &target).unwrap().is_empty());
}

/// Root: a process that ignored SIGTERM is spared when, by the end of the
/// grace period, it is no longer due (its group was granted again).
#[test]
fn root_a_process_no_longer_due_is_spared() {
    let _lock = root_lock();
    let user = TestUser::new("u", &[]);
    let mut stubborn = user.spawn(&[], &[], &["sh", "-c", "trap '' TERM; sleep 60; :"]);
    std::thread::sleep(Duration::from_millis(300));
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", stubborn.pid())).unwrap();
    let victim = Victim {
        pid: stubborn.pid(),
        start_ticks: crate::grant::sweep::parse_stat(&stat).unwrap().start_ticks,
        name: "sh".into(),
        uid: user.uid,
        reason: Reason::LoginSession,
    };
    let report = terminate_while(
        std::slice::from_ref(&victim),
        Duration::from_millis(300),
        &|| Some(Vec::new()),
    );
    assert_eq!(outcome(&report, stubborn.pid()), Outcome::Spared);
    assert!(stubborn.wait_for(Duration::from_millis(200)).is_none());
    // Still due: killed.
    let report = terminate_while(
        std::slice::from_ref(&victim),
        Duration::from_millis(300),
        &|| Some(vec![victim.clone()]),
    );
    assert_eq!(outcome(&report, stubborn.pid()), Outcome::Killed);
    assert!(stubborn.wait_for(Duration::from_secs(5)).is_some());
}
