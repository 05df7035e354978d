use super::*;

/// `/proc/PID/status` of a process, shaped like the kernel's.
pub(crate) fn status_text(name: &str, ppid: u32, uid: u32, gid: u32, groups: &[u32]) -> String {
    let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
    format!(
        "Name:\t{name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\n\
         Pid:\t4242\nPPid:\t{ppid}\nTracerPid:\t0\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n\
         Gid:\t{gid}\t{gid}\t{gid}\t{gid}\nFDSize:\t64\nGroups:\t{} \nNStgid:\t4242\n\
         VmPeak:\t    8000 kB\n",
        groups.join(" ")
    )
}

/// `/proc/PID/stat`: a name with a space and a parenthesis, as the kernel
/// allows; `flags` in field 9, `start` in field 22.
pub(crate) fn stat_text(pid: u32, state: char, ppid: u32, flags: u64, start: u64) -> String {
    format!(
        "{pid} (my (odd) cmd) {state} {ppid} {pid} {pid} 0 -1 {flags} 99 0 0 0 0 0 0 0 20 0 1 0 \
         {start} 3133440 381 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
    )
}

const CLOCK: Clock = Clock {
    btime: 1_700_000_000,
    ticks_per_sec: 100,
};

/// Start ticks of a process that started at Unix time `ms`.
fn ticks_at(ms: i64) -> u64 {
    u64::try_from((ms - CLOCK.btime * 1000) / 10).unwrap()
}

const START: i64 = 1_700_000_600_000;
const END: i64 = 1_700_001_200_000;
const USER: u32 = 1000;
const GRANTED: u32 = 1234;

fn target() -> Target {
    Target {
        user: UserName::parse("alice").unwrap(),
        uid: USER,
        gids: vec![GRANTED],
        runas_uid: Some(0),
        starts_at: START,
        expires_at: END,
        login_sessions: false,
    }
}

fn proc_(pid: u32, ppid: u32, uid: u32, groups: &[u32], start_ms: i64, env: &[u8]) -> ProcInfo {
    ProcInfo {
        pid,
        stat: parse_stat(&stat_text(pid, 'S', ppid, 0x40_0000, ticks_at(start_ms))).unwrap(),
        status: parse_status(&status_text("p", ppid, uid, uid, groups)).unwrap(),
        env: parse_environ(env),
    }
}

#[test]
fn parses_status() {
    let s = parse_status(&status_text("bash", 77, 1000, 1001, &[4, 27, 1234])).unwrap();
    assert_eq!(
        s,
        Status {
            name: "bash".into(),
            ppid: 77,
            uids: [1000; 4],
            gids: [1001; 4],
            groups: vec![4, 27, 1234],
        }
    );
    let empty = parse_status(&status_text("x", 1, 0, 0, &[])).unwrap();
    assert!(empty.groups.is_empty());
    assert_eq!(parse_status("Name:\tx\nPPid:\t1\n"), None);
    assert_eq!(
        parse_status(&status_text("x", 1, 0, 0, &[]).replace("Uid:\t0\t0\t0\t0", "Uid:\t0\t0")),
        None
    );
}

#[test]
fn parses_stat_after_the_last_parenthesis() {
    let s = parse_stat(&stat_text(10, 'Z', 9, 0x20_8040, 317_982)).unwrap();
    assert_eq!(
        s,
        Stat {
            state: 'Z',
            ppid: 9,
            flags: 0x20_8040,
            start_ticks: 317_982,
        }
    );
    assert!(s.is_kernel_thread() && s.is_dead());
    let real = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 14 0 0 \
                18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0";
    assert!(parse_stat(real).unwrap().is_kernel_thread());
    assert_eq!(parse_stat(real).unwrap().start_ticks, 14);
    assert_eq!(parse_stat("12 (short) S 1 2 3"), None);
    assert_eq!(parse_stat("no parenthesis"), None);
}

#[test]
fn parses_environ_and_btime() {
    let env = parse_environ(b"PATH=/bin\0SUDO_USER=alice\0SUDO_UID=1000\0SUDO_GID=1000\0");
    assert_eq!(
        env,
        SudoEnv {
            uid: Some(1000),
            user: Some("alice".into()),
        }
    );
    assert_eq!(
        parse_environ(b"SUDO_UID=x\0NOT_SUDO_UID=5"),
        SudoEnv::default()
    );
    assert_eq!(parse_environ(b""), SudoEnv::default());
    let stat = "cpu  1 2 3\nintr 5\nctxt 9\nbtime 1795445684\nprocesses 9\n";
    assert_eq!(parse_btime(stat), Some(1_795_445_684));
    assert_eq!(parse_btime("cpu 1\n"), None);
    assert_eq!(CLOCK.start_ms(250), 1_700_000_002_500);
}

fn pids(v: &[Victim]) -> Vec<(u32, Reason)> {
    v.iter().map(|v| (v.pid, v.reason)).collect()
}

#[test]
fn chooses_holders_of_granted_groups_and_sudo_sessions_with_descendants() {
    let sudo_env = b"SUDO_USER=alice\0SUDO_UID=1000\0";
    let inside = START + 60_000;
    let procs = vec![
        // The user's shell, holding the granted group.
        proc_(100, 50, USER, &[1000, GRANTED], START - 5_000, b""),
        // The user's process without it.
        proc_(101, 50, USER, &[1000], inside, b""),
        // Another user holding the gid: not theirs to lose.
        proc_(102, 50, 2000, &[GRANTED], inside, b""),
        // Started through sudo in the window, running as root...
        proc_(200, 199, 0, &[], inside, sudo_env),
        // ... its child with a cleaned environment, and grandchild.
        proc_(201, 200, 0, &[], inside + 10, b""),
        proc_(202, 201, 33, &[], inside + 20, b""),
        // sudo for the same user before the window: another grant's.
        proc_(300, 1, 0, &[], START - 60_000, sudo_env),
        // ... and after it.
        proc_(301, 1, 0, &[], END + 1_000, sudo_env),
        // SUDO_UID forged by another user, as themselves: not run-as root.
        proc_(302, 1, 2000, &[], inside, sudo_env),
        // Another user's sudo session.
        proc_(303, 1, 0, &[], inside, b"SUDO_USER=bob\0SUDO_UID=2000\0"),
        // SUDO_UID right but SUDO_USER wrong.
        proc_(304, 1, 0, &[], inside, b"SUDO_USER=bob\0SUDO_UID=1000\0"),
    ];
    let got = select(&procs, &target(), &CLOCK, 9999);
    assert_eq!(
        pids(&got),
        [
            (100, Reason::HoldsGroup { gid: GRANTED }),
            (200, Reason::Sudo),
            (201, Reason::SudoDescendant { ancestor: 200 }),
            (202, Reason::SudoDescendant { ancestor: 200 }),
        ]
    );
    assert_eq!(got[0].name, "p");
    assert_eq!(got[0].start_ticks, ticks_at(START - 5_000));
    assert_eq!(got[3].uid, 33);
}

#[test]
fn a_start_just_before_the_window_counts_within_btime_resolution() {
    let env = b"SUDO_USER=alice\0SUDO_UID=1000\0";
    let procs = vec![
        proc_(10, 1, 0, &[], START - 900, env),
        proc_(11, 1, 0, &[], START - 1_100, env),
        proc_(12, 1, 0, &[], END, env),
    ];
    assert_eq!(
        pids(&select(&procs, &target(), &CLOCK, 1)),
        [(10, Reason::Sudo), (12, Reason::Sudo)]
    );
}

#[test]
fn sg_and_newgrp_hold_the_group_as_gid() {
    let mut p = proc_(10, 1, USER, &[1000], START, b"");
    p.status.gids = [GRANTED, GRANTED, 1000, GRANTED];
    let got = select(&[p.clone()], &target(), &CLOCK, 1);
    assert_eq!(pids(&got), [(10, Reason::HoldsGroup { gid: GRANTED })]);
    // A setuid program run by the user: effective uid root, real uid the user.
    p.status.gids = [1000; 4];
    p.status.uids = [USER, 0, 0, 0];
    p.status.groups = vec![GRANTED];
    assert_eq!(select(&[p], &target(), &CLOCK, 1).len(), 1);
}

#[test]
fn never_init_kernel_threads_zombies_or_the_daemon() {
    let env = b"SUDO_USER=alice\0SUDO_UID=1000\0";
    let inside = START + 1_000;
    let mut kthread = proc_(5, 2, USER, &[GRANTED], inside, b"");
    kthread.stat.flags |= 0x20_0000;
    let mut zombie = proc_(6, 1, USER, &[GRANTED], inside, b"");
    zombie.stat.state = 'Z';
    let procs = vec![
        proc_(1, 0, USER, &[GRANTED], inside, env),
        kthread,
        zombie,
        // The daemon, and a child of a sudo session that is the daemon.
        proc_(7, 1, 0, &[], inside, env),
        proc_(8, 7, 0, &[], inside, b""),
        proc_(9, 1, 0, &[], inside, env),
        proc_(77, 9, 0, &[], inside, b""),
    ];
    let got = select(&procs, &target(), &CLOCK, 7);
    assert_eq!(
        pids(&got),
        [
            (9, Reason::Sudo),
            (77, Reason::SudoDescendant { ancestor: 9 })
        ]
    );
    let got = select(&procs, &target(), &CLOCK, 77);
    assert_eq!(
        pids(&got),
        [
            (7, Reason::Sudo),
            (8, Reason::SudoDescendant { ancestor: 7 }),
            (9, Reason::Sudo)
        ]
    );
}

#[test]
fn no_sudo_part_or_no_added_group_chooses_nothing_of_that_kind() {
    let env = b"SUDO_USER=alice\0SUDO_UID=1000\0";
    let procs = vec![
        proc_(10, 1, 0, &[], START + 1, env),
        proc_(11, 1, USER, &[GRANTED], START + 1, b""),
    ];
    let mut t = target();
    t.runas_uid = None;
    assert_eq!(
        pids(&select(&procs, &t, &CLOCK, 1)),
        [(11, Reason::HoldsGroup { gid: GRANTED })]
    );
    t.gids.clear();
    assert!(select(&procs, &t, &CLOCK, 1).is_empty());
}

#[test]
fn a_process_cycle_does_not_loop() {
    let env = b"SUDO_USER=alice\0SUDO_UID=1000\0";
    // Impossible in a consistent snapshot, possible in a torn one.
    let procs = vec![
        proc_(10, 11, 0, &[], START + 1, env),
        proc_(11, 10, 0, &[], START + 1, b""),
    ];
    assert_eq!(select(&procs, &target(), &CLOCK, 1).len(), 2);
}
