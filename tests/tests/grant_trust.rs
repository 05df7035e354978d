//! What a grant is trusted with, against the real daemon: who reads which
//! audit rows, and what an extension must carry and announce.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};

/// Role `glass` (break-glass, reviewed by `approver`) for `user`.
fn glass_policy(user: &TestUser, approver: &TestUser) -> String {
    format!(
        "[roles.glass]\nsudo = {{ commands = [\"/usr/bin/whoami\"] }}\nmax_duration = \"1h\"\n\n\
         [[rules]]\nrole = \"glass\"\nwho = {{ users = [\"{u}\"] }}\n\
         approval = {{ count = 0, break_glass = true, approvers = {{ users = [\"{a}\"] }} }}\n",
        u = user.name,
        a = approver.name
    )
}

/// The audit rows `who` is shown (root with `None`).
fn audit_rows(d: &Daemon, who: Option<&TestUser>) -> Vec<serde_json::Value> {
    let out = d.elevate(who, &["--json", "audit"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    json(&out)["rows"].as_array().unwrap().clone()
}

#[test]
fn audit_rows_are_shown_to_the_requests_owner_and_actor_not_to_a_matching_name() {
    require_root();
    let user = TestUser::new("o", &[]);
    let approver = TestUser::new("q", &[]);
    let mut d = Daemon::new("");
    d.policy("10-glass.toml", &glass_policy(&user, &approver));
    d.start();
    let g = json(&d.elevate(
        Some(&user),
        &["--json", "request", "glass", "--reason", "prod down"],
    ));
    let gid = g["id"].as_str().unwrap().to_owned();
    // The approver's review is a row on the user's request whose actor is
    // the approver's name.
    let out = d.elevate(Some(&approver), &["review", &gid]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let all = audit_rows(&d, None);
    assert!(
        all.iter()
            .any(|r| r["event"] == "reviewed" && r["actor"] == approver.name.as_str()),
        "{all:?}"
    );

    // The approver reads the row of their own act (recorded with their
    // uid), and none other of the user's request: not the request, not
    // the grant, whoever's name is on them.
    let seen = audit_rows(&d, Some(&approver));
    let leaked: Vec<_> = seen
        .iter()
        .filter(|r| r["request"] == gid.as_str() && r["event"] != "reviewed")
        .collect();
    assert!(
        leaked.is_empty(),
        "{} was shown rows of {}'s request: {leaked:?}",
        approver.name,
        user.name
    );
    assert!(
        seen.iter()
            .any(|r| r["event"] == "reviewed" && r["detail"]["uid"] == approver.uid),
        "{seen:?}"
    );

    let own = audit_rows(&d, Some(&user));
    assert!(own.iter().any(|r| r["event"] == "reviewed"), "{own:?}");
    assert!(own.iter().all(|r| r["request"] == gid.as_str()), "{own:?}");
}

#[test]
fn an_extension_needs_the_reason_its_rule_asks_for() {
    require_root();
    let user = TestUser::new("n", &[]);
    let mut d = Daemon::new("");
    d.policy(
        "10-ops.toml",
        &format!(
            "[roles.ops]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\nmax_duration = \"1h\"\n\n\
             [[rules]]\nrole = \"ops\"\nwho = {{ users = [\"{}\"] }}\napproval = {{ reason = true }}\n",
            user.name
        ),
    );
    d.start();
    let v = json(&d.elevate(
        Some(&user),
        &[
            "--json", "request", "ops", "--for", "10m", "--reason", "deploy",
        ],
    ));
    let id = v["id"].as_str().unwrap().to_owned();
    let end = v["expires_at"].clone();
    let out = d.elevate(Some(&user), &["extend", &id, "--for", "10m"]);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{o}{e}");
    assert!(e.contains("reason"), "{e}");
    let after = json(&d.elevate(Some(&user), &["--json", "show", &id]));
    assert_eq!(after["expires_at"], end, "the window must not move");
    let out = d.elevate(
        Some(&user),
        &[
            "extend",
            &id,
            "--for",
            "10m",
            "--reason",
            "deploy runs late",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}
