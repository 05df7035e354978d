//! What requesters and approvers are told, end to end with the real client
//! and daemon: a role held already, extensions refused or not decided in
//! time, who gets the text to sign, what an approver lists and audits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};

/// Role `ops` (granted at once to `ops_for`, at most 1h; also an action)
/// and role `gated` (one approval by `approver`, decided within 3 seconds;
/// a reason is required) for `user`.
fn policy(d: &Daemon, ops_for: &TestUser, user: &TestUser, approver: &TestUser) {
    d.policy(
        "10-ops.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\nmax_duration = \"1h\"\n\
             actions = [\"/usr/bin/true\"]\n\n\
             [roles.gated]\nsudo = {{ commands = [\"/usr/bin/whoami\"] }}\n\n\
             [[rules]]\nrole = \"ops\"\nwho = {{ users = [\"{o}\"] }}\n\n\
             [[rules]]\nrole = \"gated\"\nwho = {{ users = [\"{u}\"] }}\n\
             approval = {{ count = 1, approvers = {{ users = [\"{a}\"] }}, timeout = \"3s\", \
             reason = true }}\n",
            o = ops_for.name,
            u = user.name,
            a = approver.name
        ),
    );
}

/// A daemon with [`policy`], `ops` for `user`.
fn setup(user: &TestUser, approver: &TestUser) -> Daemon {
    let mut d = Daemon::new("").with_real_sudo();
    policy(&d, user, user, approver);
    d.start();
    d
}

#[test]
fn a_held_role_is_refused_naming_the_grant_and_run_still_uses_it() {
    require_root();
    let user = TestUser::new("h", &[]);
    let approver = TestUser::new("p", &[]);
    let d = setup(&user, &approver);
    let v = json(&d.elevate(Some(&user), &["--json", "request", "ops", "--for", "10m"]));
    let id = v["id"].as_str().unwrap().to_owned();
    let again = d.elevate(Some(&user), &["request", "ops", "--for", "5m"]);
    assert_eq!(again.status.code(), Some(1), "{:?}", text(&again));
    let (_, stderr) = text(&again);
    assert!(
        stderr.starts_with("elevate: you already hold role ops: grant ")
            && stderr.contains(&format!("`elevate extend {id} --for D`")),
        "{stderr}"
    );
    let again = d.elevate(Some(&user), &["--json", "request", "ops"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(json(&again)["error"]["code"], "conflict");
    assert_eq!(d.dropins().len(), 1, "no second grant");
    // `elevate run` keeps using the grant it holds.
    let run = d.elevate(Some(&user), &["run", "--", "/usr/bin/id", "-u"]);
    assert_eq!(run.status.code(), Some(0), "{:?}", text(&run));
    assert_eq!(text(&run).0.trim(), "0");
    // A pending request of a role is refused too, pointing to `show`.
    let p = d.elevate(
        Some(&user),
        &["--json", "request", "gated", "--no-wait", "--reason", "r"],
    );
    assert_eq!(p.status.code(), Some(3), "{:?}", text(&p));
    let pid = json(&p)["id"].as_str().unwrap().to_owned();
    let again = d.elevate(Some(&user), &["request", "gated", "--reason", "r"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).1.contains(&format!("`elevate show {pid}`")),
        "{:?}",
        text(&again)
    );
}

#[test]
fn extensions_refused_or_not_decided_end_as_documented() {
    require_root();
    let user = TestUser::new("x", &[]);
    let approver = TestUser::new("y", &[]);
    let d = setup(&user, &approver);
    // Refused by policy (ops is no longer the user's after a reload): the
    // grant, unchanged, and exit 1. (At the role's maximum already is the
    // same answer; the engine's tests cover it, with a clock of their own.)
    let v = json(&d.elevate(Some(&user), &["--json", "request", "ops", "--for", "10m"]));
    let id = v["id"].as_str().unwrap().to_owned();
    policy(&d, &approver, &user, &approver);
    d.signal("HUP");
    let reloaded = || {
        let roles = json(&d.elevate(Some(&user), &["--json", "roles"]));
        roles["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["role"] == "ops" && o["allowed"] == false)
    };
    let start = std::time::Instant::now();
    while !reloaded() {
        assert!(start.elapsed().as_secs() < 10, "no reload");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = d.elevate(Some(&user), &["extend", &id, "--for", "10m"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    let (stdout, stderr) = text(&out);
    assert!(stdout.starts_with(&format!("{id} active: ops")), "{stdout}");
    assert!(
        stderr.contains(&format!("grant {id}: extension refused: no rule allows")),
        "{stderr}"
    );
    let out = d.elevate(Some(&user), &["--json", "extend", &id, "--for", "10m"]);
    assert_eq!(out.status.code(), Some(1));
    let x = json(&out);
    assert_eq!(x["state"], "active");
    assert_eq!(x["expires_at"], v["expires_at"]);

    // A gated grant: its first extension denied, its second one nobody
    // decides in time (2s): exit 3, not the earlier denial's 1.
    let g = json(&d.elevate(
        Some(&user),
        &["--json", "request", "gated", "--no-wait", "--reason", "r"],
    ));
    let gid = g["id"].as_str().unwrap().to_owned();
    let ok = d.elevate(Some(&approver), &["approve", &gid]);
    assert_eq!(ok.status.code(), Some(0), "{:?}", text(&ok));
    // `reason = true` holds for extensions too.
    let out = d.elevate(Some(&user), &["extend", &gid, "--for", "5m", "--no-wait"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("requires a reason to extend"),
        "{:?}",
        text(&out)
    );
    let args = [
        "extend",
        &gid,
        "--for",
        "5m",
        "--no-wait",
        "--reason",
        "more",
    ];
    let out = d.elevate(Some(&user), &args);
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    let no = d.elevate(Some(&approver), &["deny", &gid, "--comment", "enough"]);
    assert_eq!(no.status.code(), Some(0), "{:?}", text(&no));
    let shown = json(&d.elevate(Some(&user), &["--json", "show", &gid]));
    assert_eq!(
        shown["message"],
        "extension denied by ".to_owned() + &approver.name + ": enough"
    );
    let out = d.elevate(
        Some(&user),
        &["extend", &gid, "--for", "5m", "--reason", "more"],
    );
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("nobody decided in time"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn the_text_to_sign_is_for_those_who_see_the_request() {
    require_root();
    let user = TestUser::new("t", &[]);
    let approver = TestUser::new("v", &[]);
    let stranger = TestUser::new("s", &[]);
    let d = setup(&user, &approver);
    let g = json(&d.elevate(
        Some(&user),
        &["--json", "request", "gated", "--no-wait", "--reason", "r"],
    ));
    let gid = g["id"].as_str().unwrap().to_owned();
    let out = d.elevate(Some(&stranger), &["show", &gid, "--approval-text"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(
        text(&out)
            .1
            .contains(&format!("no request {gid} visible to you")),
        "{:?}",
        text(&out)
    );
    assert!(out.stdout.is_empty());
    for who in [&user, &approver] {
        let out = d.elevate(Some(who), &["show", &gid, "--approval-text"]);
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
        assert!(
            text(&out).0.starts_with("elevated decision v2\n"),
            "{:?}",
            text(&out)
        );
    }
}

#[test]
fn an_approver_lists_the_requests_they_may_decide_and_reads_their_decisions() {
    require_root();
    let user = TestUser::new("l", &[]);
    let approver = TestUser::new("m", &[]);
    let stranger = TestUser::new("n", &[]);
    let d = setup(&user, &approver);
    let g = json(&d.elevate(
        Some(&user),
        &["--json", "request", "gated", "--no-wait", "--reason", "r"],
    ));
    let gid = g["id"].as_str().unwrap().to_owned();
    let ids = |who: &TestUser, args: &[&str]| -> Vec<String> {
        let mut full = vec!["--json", "list"];
        full.extend_from_slice(args);
        json(&d.elevate(Some(who), &full))["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&approver, &[]), vec![gid.as_str()]);
    assert_eq!(ids(&approver, &["--all"]), vec![gid.as_str()]);
    assert!(ids(&stranger, &["--all"]).is_empty());
    let ok = d.elevate(Some(&approver), &["approve", &gid, "--comment", "fine"]);
    assert_eq!(ok.status.code(), Some(0), "{:?}", text(&ok));
    assert_eq!(ids(&approver, &[]), vec![gid.as_str()], "the active grant");
    let audit = json(&d.elevate(Some(&approver), &["--json", "audit"]));
    let rows = audit["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["event"] == "approval" && r["request"] == gid.as_str()),
        "{rows:?}"
    );
    let none = json(&d.elevate(Some(&stranger), &["--json", "audit"]));
    assert!(none["rows"].as_array().unwrap().is_empty(), "{none}");
}
