//! Runs the real `elevate` binary against a scripted fake daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use elevated_proto::{ErrorCode, NewRequest, Request, RequestState, Response, RoleOffer, WaitFor};
use serde_json::Value;
use support::*;

#[test]
fn active_request_exits_0_and_sends_options() {
    let fake = Fake::start(vec![one(view(RequestState::Active, "db-admin"))]);
    let out = fake.run(&["request", "db-admin", "--for", "1h", "--reason", "INC-42"]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("k3f9x2ma active: db-admin"), "{stdout}");
    assert!(
        stdout.contains("(postgres) NOPASSWD: /usr/bin/psql"),
        "{stdout}"
    );
    assert_eq!(
        fake.seen(),
        [Request::Request(NewRequest {
            role: elevated_proto::RoleName::parse("db-admin").unwrap(),
            duration_secs: Some(3600),
            command: None,
            reason: Some("INC-42".into()),
            ticket: None,
        })]
    );
}

#[test]
fn denied_exits_1_with_the_daemons_message() {
    let fake = Fake::start(vec![one(view(RequestState::Denied, "db-admin"))]);
    let out = fake.run(&["request", "db-admin"]);
    assert_eq!(status(&out), 1);
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("elevate: "), "{stderr}");
    assert!(stderr.contains("outside working hours"), "{stderr}");
}

#[test]
fn no_wait_pending_exits_3() {
    let fake = Fake::start(vec![one(view(RequestState::Pending, "db-admin"))]);
    let out = fake.run(&["request", "db-admin", "--no-wait"]);
    assert_eq!(status(&out), 3);
    assert!(text(&out.stdout).contains("k3f9x2ma pending"));
    assert_eq!(fake.seen().len(), 1);
}

#[test]
fn pending_becomes_active_through_wait_without_spinner() {
    let fake = Fake::start(vec![
        one(view(RequestState::Pending, "db-admin")),
        one(view(RequestState::Pending, "db-admin")),
        one(view(RequestState::Active, "db-admin")),
    ]);
    let out = fake.run(&["request", "db-admin"]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    for r in &seen[1..] {
        let Request::Wait(WaitFor { id, timeout_ms }) = r else {
            panic!("expected wait, got {r:?}")
        };
        assert_eq!(id.as_str(), "k3f9x2ma");
        assert!(*timeout_ms >= 1000);
    }
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let spinner = |c: char| ('\u{2800}'..='\u{28ff}').contains(&c) || c == '\r' || c == '\x1b';
    assert!(!all.chars().any(spinner), "{all:?}");
    assert!(
        text(&out.stderr)
            .contains("request k3f9x2ma: pending, approvals 0/2, approvers: 2 of group dba-leads"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn timed_out_exits_3() {
    let fake = Fake::start(vec![
        one(view(RequestState::Pending, "db-admin")),
        one(view(RequestState::TimedOut, "db-admin")),
    ]);
    assert_eq!(status(&fake.run(&["request", "db-admin"])), 3);
}

#[test]
fn bad_duration_exits_2_before_contacting_the_daemon() {
    let fake = Fake::start(vec![one(view(RequestState::Active, "db-admin"))]);
    let out = fake.run(&["request", "db-admin", "--for", "soon"]);
    assert_eq!(status(&out), 2);
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("elevate: "), "{stderr}");
    assert!(stderr.contains("soon"), "{stderr}");
    assert!(fake.seen().is_empty());
}

#[test]
fn not_found_exits_2_and_json_carries_the_error() {
    let fake = Fake::start(vec![
        error(ErrorCode::NotFound, "no request abcd1234"),
        error(ErrorCode::NotFound, "no request abcd1234"),
    ]);
    assert_eq!(status(&fake.run(&["show", "abcd1234"])), 2);
    let out = fake.run(&["--json", "show", "abcd1234"]);
    assert_eq!(status(&out), 2);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    assert_eq!(v["error"]["message"], "no request abcd1234");
    assert!(text(&out.stderr).contains("no request abcd1234"));
}

#[test]
fn forbidden_exits_1() {
    let fake = Fake::start(vec![error(ErrorCode::Forbidden, "not yours")]);
    assert_eq!(status(&fake.run(&["revoke", "abcd1234"])), 1);
}

#[test]
fn missing_socket_exits_69() {
    let dir = tempfile::tempdir().unwrap();
    let out = elevate()
        .arg("--socket")
        .arg(dir.path().join("none.sock"))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(status(&out), 69);
    assert!(text(&out.stderr).starts_with("elevate: cannot reach elevated"));
}

#[test]
fn json_is_one_object_with_the_contract_fields() {
    let fake = Fake::start(vec![one(view(RequestState::Active, "db-admin"))]);
    let out = fake.run(&["request", "db-admin", "--json"]);
    assert_eq!(status(&out), 0);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["id"], "k3f9x2ma");
    assert_eq!(v["state"], "active");
    assert_eq!(v["role"], "db-admin");
    assert_eq!(v["user"], "alice");
    assert_eq!(v["expires_at"], "2099-01-31T10:30:00Z");
}

#[test]
fn environment_names_the_socket() {
    let fake = Fake::start(vec![answer(Response::Requests {
        requests: vec![view(RequestState::Active, "db-admin")],
        truncated: false,
    })]);
    let out = elevate()
        .env("ELEVATE_SOCKET", &fake.socket)
        .args(["--json", "status"])
        .output()
        .unwrap();
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["requests"][0]["id"], "k3f9x2ma");
    assert_eq!(fake.seen(), [Request::Status {}]);
}

#[test]
fn a_cut_listing_is_flagged_in_json_and_noted_in_text() {
    let cut = || {
        answer(Response::Requests {
            requests: vec![view(RequestState::Active, "db-admin")],
            truncated: true,
        })
    };
    let fake = Fake::start(vec![cut(), cut(), cut()]);
    let out = fake.run(&["--json", "status"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["truncated"], true, "{v}");
    let out = fake.run(&["--json", "list", "--all"]);
    assert_eq!(status(&out), 0, "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["truncated"], true);
    assert_eq!(v["requests"][0]["id"], "k3f9x2ma");
    let out = fake.run(&["list", "--all"]);
    assert_eq!(status(&out), 0);
    assert!(
        text(&out.stderr).contains("only the newest 1 entries fit in one answer"),
        "{}",
        text(&out.stderr)
    );
    // A whole listing carries no flag.
    let fake = Fake::start(vec![answer(Response::Requests {
        requests: vec![],
        truncated: false,
    })]);
    let out = fake.run(&["--json", "list"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("truncated").is_none(), "{v}");
}

#[test]
fn garbled_answer_exits_1() {
    let fake = Fake::start(vec![Step::Garbage(b"\0\0\0\x05hello".to_vec())]);
    let out = fake.run(&["status"]);
    assert_eq!(status(&out), 1);
    assert!(text(&out.stderr).starts_with("elevate: "));
}

#[test]
fn audit_verify_failure_exits_1() {
    let fake = Fake::start(vec![answer(Response::AuditVerify {
        ok: false,
        rows: 9,
        first_bad: Some(4),
        message: "row 4 was altered".into(),
    })]);
    let out = fake.run(&["audit", "--verify"]);
    assert_eq!(status(&out), 1);
    assert!(text(&out.stderr).contains("row 4 was altered"));
}

#[test]
fn run_execs_sudo_with_a_covering_grant() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path());
    let tool = bin.join("tool");
    let mut other = view(RequestState::Active, "db-admin");
    other.id = "aaaa1111".into();
    let mut grant = view(RequestState::Active, "ops");
    grant.sudo = Some(sudo("root", &[tool.to_str().unwrap()]));
    let fake = Fake::start(vec![answer(Response::Requests {
        requests: vec![other, grant],
        truncated: false,
    })]);
    let out = run_with(&fake, &bin, &["run", "--", "tool", "-x", "arg"]);
    assert_eq!(status(&out), 7, "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("-n -- {} -x arg\n", tool.display())
    );
    assert_eq!(fake.seen(), [Request::Status {}]);
}

#[test]
fn run_requests_the_one_covering_role() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path());
    let tool = bin.join("tool");
    let tool_s = tool.to_str().unwrap();
    let mut grant = view(RequestState::Active, "db-admin");
    grant.sudo = Some(sudo("postgres", &[tool_s]));
    let fake = Fake::start(vec![
        answer(Response::Requests {
            requests: vec![],
            truncated: false,
        }),
        answer(Response::Roles {
            host: "db1".into(),
            roles: vec![offer("ops", &["/usr/bin/systemctl"]), {
                let mut o = offer("db-admin", &[tool_s]);
                o.sudo = grant.sudo.clone();
                o
            }],
        }),
        one(grant),
    ]);
    let out = run_with(&fake, &bin, &["run", "--for", "5m", "--", "tool"]);
    assert_eq!(status(&out), 7, "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("-n -u postgres -- {}\n", tool.display())
    );
    let seen = fake.seen();
    assert!(
        matches!(&seen[2], Request::Request(NewRequest { role, duration_secs: Some(300), .. })
            if role.as_str() == "db-admin"),
        "{seen:?}"
    );
}

#[test]
fn run_without_a_covering_role_exits_1_and_with_several_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path());
    let tool = bin.join("tool");
    let roles = |offers: Vec<RoleOffer>| {
        vec![
            answer(Response::Requests {
                requests: vec![],
                truncated: false,
            }),
            answer(Response::Roles {
                host: "db1".into(),
                roles: offers,
            }),
        ]
    };
    let fake = Fake::start(roles(vec![offer("ops", &["/usr/bin/systemctl"])]));
    let out = run_with(&fake, &bin, &["run", "tool"]);
    assert_eq!(status(&out), 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "no role you may request covers {}",
            tool.display()
        )),
        "{stderr}"
    );
    let fake = Fake::start(roles(vec![
        offer("ops", &["ALL"]),
        offer("admin", &["ALL"]),
    ]));
    let out = run_with(&fake, &bin, &["run", "tool"]);
    assert_eq!(status(&out), 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ops, admin") && stderr.contains("--role"),
        "{stderr}"
    );
}

#[test]
fn run_unknown_command_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path());
    let fake = Fake::start(vec![]);
    let out = run_with(&fake, &bin, &["run", "no-such-tool"]);
    assert_eq!(status(&out), 2);
    assert!(text(&out.stderr).contains("no-such-tool: command not found"));
    assert!(fake.seen().is_empty());
}

fn action_offer(role: &str, actions: &[&str]) -> RoleOffer {
    let mut o = offer(role, &[]);
    o.actions = actions.iter().map(|a| (*a).to_owned()).collect();
    o
}

fn action_grant(argv: &[&str]) -> elevated_proto::RequestView {
    let mut v = view(RequestState::Active, "restart");
    v.sudo = Some(sudo("root", &[&argv.join(" ")]));
    v.command = Some(argv.iter().map(|a| (*a).to_owned()).collect());
    v
}

#[test]
fn run_requests_a_just_in_time_action_runs_it_once_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path());
    let tool = bin.join("tool");
    let tool_s = tool.to_str().unwrap();
    let fake = Fake::start(vec![
        answer(Response::Requests {
            requests: vec![],
            truncated: false,
        }),
        answer(Response::Roles {
            host: "db1".into(),
            roles: vec![
                action_offer("other", &[&format!("{tool_s} -y")]),
                action_offer("restart", &[&format!("{tool_s} -x")]),
            ],
        }),
        one(action_grant(&[tool_s, "-x"])),
        one(view(RequestState::Revoked, "restart")),
    ]);
    let out = run_with(
        &fake,
        &bin,
        &["run", "--reason", "stuck", "--", "tool", "-x"],
    );
    assert_eq!(status(&out), 7, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("-n -- {tool_s} -x\n"));
    assert!(text(&out.stderr).contains("for one run of"));
    let seen = fake.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(
        matches!(&seen[2], Request::Request(NewRequest { role, command: Some(c), reason: Some(r), .. })
            if role.as_str() == "restart" && c == &[tool_s, "-x"] && r == "stuck"),
        "{seen:?}"
    );
    assert_eq!(seen[3], Request::Revoke { id: id("k3f9x2ma") });
}

#[test]
fn run_uses_a_held_action_grant_and_reports_a_failed_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path());
    let tool_s = bin.join("tool").to_str().unwrap().to_owned();
    let mut grant = action_grant(&[&tool_s]);
    grant.sudo = Some(sudo("postgres", &[&tool_s]));
    let fake = Fake::start(vec![
        answer(Response::Requests {
            requests: vec![action_grant(&[&tool_s, "other"]), grant],
            truncated: false,
        }),
        error(ErrorCode::Internal, "store is busy"),
    ]);
    let out = run_with(&fake, &bin, &["run", "tool"]);
    assert_eq!(status(&out), 7, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("-n -u postgres -- {tool_s}\n"));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("could not revoke the action grant k3f9x2ma: store is busy"),
        "{stderr}"
    );
    assert_eq!(fake.seen()[1], Request::Revoke { id: id("k3f9x2ma") });
}

#[test]
fn run_prefers_a_sudo_grant_over_an_action() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path());
    let tool_s = bin.join("tool").to_str().unwrap().to_owned();
    let mut wide = view(RequestState::Active, "ops");
    wide.id = "wide0001".into();
    wide.sudo = Some(sudo("root", &[&tool_s]));
    let fake = Fake::start(vec![answer(Response::Requests {
        requests: vec![action_grant(&[&tool_s]), wide],
        truncated: false,
    })]);
    let out = run_with(&fake, &bin, &["run", "tool"]);
    assert_eq!(status(&out), 7);
    assert_eq!(fake.seen(), [Request::Status {}], "exec, no revoke");
}
