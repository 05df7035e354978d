//! Whole commands, timed from spawn to exit, interleaved with their
//! baseline so both see the same machine.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use elevated_proto::{GrantId, Request, Response};
use elevated_tests::bin;
use elevated_tests::pam::PamService;

use crate::stats::{ms, ratio, row, summary, HEADER};
use crate::{Bed, Size};

/// Spawns, waits, and returns the time taken; the command must succeed.
fn timed(mut c: Command) -> Duration {
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = c.output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// `request ROLE` through the protocol, as the bench user would through
/// `elevate`; returns the grant id.
pub fn grant(bed: &Bed, role: &str) -> String {
    let out = bed
        .as_user(bin("elevate").to_str().unwrap())
        .args(["--json", "request", role, "--reason", "benchmark"])
        .output()
        .unwrap();
    assert!(out.status.success(), "request {role}: {out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "active", "{v}");
    v["id"].as_str().unwrap().to_owned()
}

pub fn revoke(bed: &Bed, id: &str) {
    let id = GrantId::parse(id).unwrap();
    match bed.daemon.client().call(Request::Revoke { id }).unwrap() {
        Response::Request { request } => assert_eq!(request.state.to_string(), "revoked"),
        other => panic!("revoke: {other:?}"),
    }
}

/// 1. `elevate run --role bench -- /usr/bin/true` with an active grant vs
///    `sudo -n /usr/bin/true`, same user, same rule.
pub fn run_vs_sudo(bed: &Bed, size: Size) {
    let id = grant(bed, "bench");
    let elevate = bin("elevate");
    let floor = bin("elvt-exec-floor");
    let run = || {
        let mut c = bed.as_user(elevate.to_str().unwrap());
        c.args(["run", "--role", "bench", "--", "/usr/bin/true"]);
        c
    };
    let sudo = || {
        let mut c = bed.as_user("sudo");
        c.args(["-n", "/usr/bin/true"]);
        c
    };
    // What any wrapper pays: one more program started, and (to know the
    // grant's run-as user) one round trip to the daemon.
    let wrapper = |mode: &str| {
        let mut c = bed.as_user(floor.to_str().unwrap());
        c.args([mode, "/usr/bin/true"]);
        c
    };
    for _ in 0..size.iterations / 10 {
        timed(run());
        timed(sudo());
        timed(wrapper("exec"));
        timed(wrapper("status"));
    }
    let (mut a, mut b, mut w, mut ws) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..size.iterations {
        a.push(timed(run()));
        b.push(timed(sudo()));
        w.push(timed(wrapper("exec")));
        ws.push(timed(wrapper("status")));
    }
    revoke(bed, &id);
    let (sa, sb) = (summary(&a), summary(&b));
    let (sw, sws) = (summary(&w), summary(&ws));
    println!("## 1. `elevate run` vs `sudo -n` (active grant)\n\n{HEADER}");
    println!("{}", row("`sudo -n /usr/bin/true` (baseline)", &sb));
    println!("{}", row("floor: a wrapper that only execs `sudo -n`", &sw));
    println!(
        "{}",
        row("floor: a wrapper that asks `status` once, then execs", &sws)
    );
    println!(
        "{}",
        row("`elevate run --role bench -- /usr/bin/true`", &sa)
    );
    println!(
        "\nratio p50 {} · ratio p99 {} (target ≤ 1.15) · floor ratios p50 {} (exec only), {} (one round trip) · \
         `elevate run` above the round-trip floor: p50 {}\n",
        ratio(sa.p50, sb.p50),
        ratio(sa.p99, sb.p99),
        ratio(sw.p50, sb.p50),
        ratio(sws.p50, sb.p50),
        ms(sa.p50.saturating_sub(sws.p50))
    );
}

/// The rules `sudo -n -l` lists for the bench user.
fn listed(bed: &Bed) -> bool {
    let out = bed.as_user("sudo").args(["-n", "-l"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains("/usr/bin/true")
}

/// 2. Automatic approval: `elevate request` until `sudo -n -l` shows the
///    rule. The client returns after the daemon installed the drop-in, so
///    its exit is the moment; `sudo -n -l` then confirms, untimed.
pub fn request_to_rule(bed: &Bed, size: Size) {
    let elevate = bin("elevate");
    let n = size.iterations / 2;
    let (mut req, mut base, mut missing) = (Vec::new(), Vec::new(), 0);
    for i in 0..n + n / 10 {
        assert!(!listed(bed), "a bench grant is still active");
        let mut c = bed.as_user(elevate.to_str().unwrap());
        c.args([
            "--json", "request", "bench", "--for", "10m", "--reason", "bench",
        ]);
        c.stderr(Stdio::piped());
        let start = Instant::now();
        let out = c.output().unwrap();
        let took = start.elapsed();
        assert!(out.status.success(), "{out:?}");
        // Untimed check that the rule is there, then the baseline: the
        // same `sudo -n -l` that shows it, timed.
        if !listed(bed) {
            missing += 1;
        }
        let mut s = bed.as_user("sudo");
        s.args(["-n", "-l"]);
        let sudo_l = timed(s);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        revoke(bed, v["id"].as_str().unwrap());
        if i >= n / 10 {
            req.push(took);
            base.push(sudo_l);
        }
    }
    let (sr, sb) = (summary(&req), summary(&base));
    println!("## 2. Automatic approval: request to rule in sudo\n\n{HEADER}");
    println!("{}", row("`sudo -n -l` listing the rule (baseline)", &sb));
    println!(
        "{}",
        row("`elevate request bench` until the rule is in place", &sr)
    );
    println!(
        "\n`sudo -n -l` listed the rule right after the client returned: {}/{} \
         · ratio p50 {} (target p50 ≤ 15 ms: {}, p99 ≤ 40 ms: {})\n",
        req.len() + n / 10 - missing,
        req.len() + n / 10,
        ratio(sr.p50, sb.p50),
        ms(sr.p50),
        ms(sr.p99)
    );
}

/// 5. PAM account phase: `pamtester SERVICE USER acct_mgmt` with
///    pam_elevate.so (login gated, the user holds a login grant) vs the
///    same service with pam_permit.so only.
pub fn pam(bed: &Bed, size: Size) {
    let id = grant(bed, "bench-login");
    let socket = bed.daemon.socket.display().to_string();
    let with = PamService::new(&format!("socket={socket} timeout=5"));
    let permit = PermitService::new();
    let tester = |service: &str| {
        let mut c = Command::new("pamtester");
        c.args([service, &bed.user.name, "acct_mgmt"]);
        c
    };
    for _ in 0..size.iterations / 10 {
        timed(tester(&with.name));
        timed(tester(&permit.name));
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..size.iterations {
        a.push(timed(tester(&with.name)));
        b.push(timed(tester(&permit.name)));
    }
    revoke(bed, &id);
    let (sa, sb) = (summary(&a), summary(&b));
    println!("## 5. PAM account check\n\n{HEADER}");
    println!("{}", row("pamtester, `pam_permit.so` (baseline)", &sb));
    println!(
        "{}",
        row("pamtester, `pam_elevate.so` (gated, granted)", &sa)
    );
    println!(
        "\nadded p50 {} · added p99 {} (target ≤ 2 ms) · ratio p50 {}\n",
        ms(sa.p50.saturating_sub(sb.p50)),
        ms(sa.p99.saturating_sub(sb.p99)),
        ratio(sa.p50, sb.p50)
    );
}

/// `/etc/pam.d/elvt...` with pam_permit.so on every line; removed on drop.
struct PermitService {
    name: String,
}

impl PermitService {
    fn new() -> Self {
        let name = elevated_tests::host::unique("permit");
        std::fs::write(
            format!("/etc/pam.d/{name}"),
            "auth     required pam_permit.so\naccount  required pam_permit.so\n\
             session  required pam_permit.so\n",
        )
        .unwrap();
        Self { name }
    }
}

impl Drop for PermitService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(format!("/etc/pam.d/{}", self.name));
    }
}
