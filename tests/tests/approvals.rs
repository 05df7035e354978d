//! Approval workflows end to end: requester and approvers as real users,
//! local approval over the socket, remote approval with real `ssh-keygen`
//! signatures, N-of-M, and the attacks a signature must resist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::sshkeys::{keygen, pubkey};
use elevated_tests::{as_user, require_root, Daemon, TestGroup, TestUser};

struct Setup {
    d: Daemon,
    alice: TestUser,
    bob: TestUser,
    lead: TestUser,
    _leads: TestGroup,
    /// alice's group, which alone allows role `team`.
    team: TestGroup,
    key: PathBuf,
    other_key: PathBuf,
}

/// Policy: role `db` needs 2 approvals from bob, the leads group or the
/// remote principal carol@corp; role `gated` needs 1 within 3 seconds;
/// role `team` (see [`team_policy`]) needs 1 and is for group `team`.
fn setup() -> Setup {
    require_root();
    let leads = TestGroup::new("lead");
    let team = TestGroup::new("team");
    let alice = TestUser::new("a", &[&team]);
    let bob = TestUser::new("b", &[]);
    let lead = TestUser::new("l", &[&leads]);
    let mut d = Daemon::new("").with_real_sudo();
    let keys = d.dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let key = keygen(&keys, "carol");
    let other_key = keygen(&keys, "mallory");
    d.file(
        "allowed_signers",
        &format!(
            "carol@corp {}\nmallory@corp {}\n",
            pubkey(&key),
            pubkey(&other_key)
        ),
        0o644,
    );
    let signers = d.dir.path().join("allowed_signers");
    let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        &format!("[daemon]\nallowed_signers = \"{}\"\n", signers.display()),
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
    d.policy(
        "10-db.toml",
        &format!(
            "[roles.db]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [roles.gated]\nsudo = {{ commands = [\"/usr/bin/whoami\"] }}\n\n\
             [[rules]]\nrole = \"db\"\nwho = {{ users = [\"{a}\"] }}\n\
             approval = {{ count = 2, approvers = {{ users = [\"{b}\", \"{a}\"], groups = [\"{g}\"], principals = [\"carol@corp\"] }} }}\n\n\
             [[rules]]\nrole = \"gated\"\nwho = {{ users = [\"{a}\"] }}\n\
             approval = {{ count = 1, approvers = {{ users = [\"{b}\"], principals = [\"carol@corp\"] }}, timeout = \"3s\" }}\n",
            a = alice.name,
            b = bob.name,
            g = leads.name
        ),
    );
    d.policy(
        "20-team.toml",
        &team_policy(&team, &bob, r#"["/usr/bin/id", "/usr/bin/whoami"]"#),
    );
    d.start();
    Setup {
        d,
        alice,
        bob,
        lead,
        _leads: leads,
        team,
        key,
        other_key,
    }
}

/// Role `team` with `commands`, for members of `team`, approved by bob or
/// carol@corp (one approval).
fn team_policy(team: &TestGroup, bob: &TestUser, commands: &str) -> String {
    format!(
        "[roles.team]\nsudo = {{ commands = {commands} }}\n\n\
         [[rules]]\nrole = \"team\"\nwho = {{ groups = [\"{g}\"] }}\n\
         approval = {{ count = 1, approvers = {{ users = [\"{b}\"], principals = [\"carol@corp\"] }} }}\n",
        g = team.name,
        b = bob.name
    )
}

/// Sends SIGHUP and waits until request `id` has left `pending` (the
/// reload closed it); its view.
fn reload_closes(s: &Setup, id: &str) -> serde_json::Value {
    s.d.signal("HUP");
    for _ in 0..200 {
        let v = state(s, id);
        if v["state"] != "pending" {
            return v;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "request {id} still pending after the reload:\n{}",
        s.d.log_text()
    );
}

/// Files a request without waiting; returns its id.
fn file_request(s: &Setup, role: &str) -> String {
    let out = s.d.elevate(
        Some(&s.alice),
        &["--json", "request", role, "--no-wait", "--reason", "r"],
    );
    assert_eq!(out.status.code(), Some(3), "pending: {:?}", text(&out));
    let v = json(&out);
    assert_eq!(v["state"], "pending");
    v["id"].as_str().unwrap().to_owned()
}

fn state(s: &Setup, id: &str) -> serde_json::Value {
    json(&s.d.elevate(None, &["--json", "show", id]))
}

/// The decision text from the daemon, written to a file, signed with `key`
/// in `namespace` after `edit` changed it; returns the .sig path.
fn sign(
    s: &Setup,
    id: &str,
    flag: &str,
    key: &Path,
    namespace: &str,
    edit: impl Fn(String) -> String,
) -> PathBuf {
    let out = s.d.elevate(Some(&s.bob), &["show", id, flag]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let body = edit(String::from_utf8(out.stdout).unwrap());
    let file =
        s.d.dir
            .path()
            .join(format!("{id}-{namespace}-{}.txt", rand_suffix()));
    std::fs::write(&file, body).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-f"])
        .arg(key)
        .args(["-n", namespace])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut sig = file.into_os_string();
    sig.push(".sig");
    PathBuf::from(sig)
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn approve_sig(s: &Setup, id: &str, sig: &Path) -> Output {
    // Anyone may submit a signature: the signature is the authority.
    s.d.elevate(
        Some(&s.lead),
        &["approve", id, "--signature", sig.to_str().unwrap()],
    )
}

fn sudo_ok(user: &TestUser, cmd: &str) -> bool {
    as_user(user, "sudo", &["-n", cmd])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn one_local_and_one_remote_approval_grant_the_role() {
    let s = setup();
    let id = file_request(&s, "db");
    assert!(!sudo_ok(&s.alice, "/usr/bin/id"));
    assert!(s.d.dropins().is_empty());

    // Self-approval is refused even though alice is listed.
    let out = s.d.elevate(Some(&s.alice), &["approve", &id]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).1.contains("their own"), "{:?}", text(&out));

    // The approver sees it in list --pending.
    let pending = json(&s.d.elevate(Some(&s.bob), &["--json", "list", "--pending"]));
    assert_eq!(pending["requests"][0]["id"], id.as_str());

    let out =
        s.d.elevate(Some(&s.bob), &["approve", &id, "--comment", "looks fine"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // Twice by the same person counts once.
    let again = s.d.elevate(Some(&s.bob), &["approve", &id]);
    assert_ne!(again.status.code(), Some(0));
    let v = state(&s, &id);
    assert_eq!(v["state"], "pending");
    assert_eq!(v["approvals_given"], 1);

    let sig = sign(
        &s,
        &id,
        "--approval-text",
        &s.key,
        "elevated-approval",
        |t| t,
    );
    let out = approve_sig(&s, &id, &sig);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v = state(&s, &id);
    assert_eq!(v["state"], "active", "{v}");
    let approvers: Vec<&str> = v["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["approver"].as_str().unwrap())
        .collect();
    assert!(approvers.contains(&"principal:carol@corp"), "{approvers:?}");
    assert!(v["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["key"].as_str().is_some_and(|k| k.starts_with("SHA256:"))));
    assert!(sudo_ok(&s.alice, "/usr/bin/id"));

    let audit = json(&s.d.elevate(None, &["--json", "audit"]));
    let rows = audit["rows"].as_array().unwrap();
    let approval_rows: Vec<_> = rows.iter().filter(|r| r["event"] == "approval").collect();
    assert_eq!(approval_rows.len(), 2);
    assert!(approval_rows
        .iter()
        .any(|r| r["detail"]["comment"] == "looks fine"));
    assert!(approval_rows
        .iter()
        .any(|r| r["detail"]["via"] == "ssh-signature"));
    assert_eq!(
        s.d.elevate(None, &["audit", "--verify"]).status.code(),
        Some(0)
    );
}

#[test]
fn a_denied_request_leaves_no_sudoers_file() {
    let s = setup();
    let id = file_request(&s, "db");
    let out =
        s.d.elevate(Some(&s.lead), &["deny", &id, "--comment", "not today"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&s, &id)["state"], "denied");
    let late = s.d.elevate(Some(&s.bob), &["approve", &id]);
    assert_ne!(late.status.code(), Some(0));
    assert!(s.d.dropins().is_empty());
    assert!(!sudo_ok(&s.alice, "/usr/bin/id"));
}

#[test]
fn a_pending_request_times_out_and_can_no_longer_be_approved() {
    let s = setup();
    let id = file_request(&s, "gated");
    let sig = sign(
        &s,
        &id,
        "--approval-text",
        &s.key,
        "elevated-approval",
        |t| t,
    );
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(state(&s, &id)["state"], "timed_out");
    let out = s.d.elevate(Some(&s.bob), &["approve", &id]);
    assert_ne!(out.status.code(), Some(0));
    // The signed approval expired with it.
    let out = approve_sig(&s, &id, &sig);
    assert_ne!(out.status.code(), Some(0));
    assert!(s.d.dropins().is_empty());
}

#[test]
fn the_requester_waits_and_is_granted_when_approved() {
    let s = setup();
    let elevate = elevated_tests::bin("elevate");
    let socket = s.d.socket.display().to_string();
    let waiter = as_user(
        &s.alice,
        elevate.to_str().unwrap(),
        &["--socket", &socket, "--json", "request", "gated"],
    )
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut id = None;
    for _ in 0..100 {
        let v = json(&s.d.elevate(None, &["--json", "list", "--pending"]));
        if let Some(first) = v["requests"].as_array().and_then(|a| a.first()) {
            id = Some(first["id"].as_str().unwrap().to_owned());
            break;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let id = id.expect("the request never appeared");
    let out = s.d.elevate(Some(&s.bob), &["approve", &id]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(json(&out)["state"], "active");
    assert!(sudo_ok(&s.alice, "/usr/bin/whoami"));
}

#[test]
fn signature_attacks_are_refused_with_a_clear_message() {
    let s = setup();
    let id = file_request(&s, "db");
    let other = file_request(&s, "gated");
    let refuse = |sig: &Path, want: &str| {
        let out = approve_sig(&s, &id, sig);
        let (o, e) = text(&out);
        assert_ne!(out.status.code(), Some(0), "accepted: {o}{e}");
        assert!(
            format!("{o}{e}").to_lowercase().contains(want),
            "expected {want:?} in: {o}{e}"
        );
        assert_eq!(state(&s, &id)["approvals_given"], 0);
    };
    let same = |t: String| t;
    // Wrong namespace.
    refuse(
        &sign(&s, &id, "--approval-text", &s.key, "file", same),
        "namespace",
    );
    // A signature made for another request.
    refuse(
        &sign(
            &s,
            &other,
            "--approval-text",
            &s.key,
            "elevated-approval",
            same,
        ),
        "signature",
    );
    // Another host, another requester, a changed duration.
    refuse(
        &sign(
            &s,
            &id,
            "--approval-text",
            &s.key,
            "elevated-approval",
            |t| t.replace("host: testhost", "host: otherhost"),
        ),
        "signature",
    );
    refuse(
        &sign(
            &s,
            &id,
            "--approval-text",
            &s.key,
            "elevated-approval",
            |t| t.replace(&format!("requester: {}", s.alice.name), "requester: root"),
        ),
        "signature",
    );
    refuse(
        &sign(
            &s,
            &id,
            "--approval-text",
            &s.key,
            "elevated-approval",
            |t| {
                let dur = t
                    .lines()
                    .find(|l| l.starts_with("duration: "))
                    .unwrap()
                    .to_owned();
                t.replace(&dur, "duration: 86400s")
            },
        ),
        "signature",
    );
    // The denial text does not approve.
    refuse(
        &sign(&s, &id, "--denial-text", &s.key, "elevated-approval", same),
        "signature",
    );
    // A key not in allowed_signers.
    let stranger = keygen(&s.d.dir.path().join("keys"), "stranger");
    refuse(
        &sign(
            &s,
            &id,
            "--approval-text",
            &stranger,
            "elevated-approval",
            same,
        ),
        "allowed_signers",
    );
    // A listed key whose principal is not among the rule's approvers.
    refuse(
        &sign(
            &s,
            &id,
            "--approval-text",
            &s.other_key,
            "elevated-approval",
            same,
        ),
        "not among the approvers",
    );
    // Truncated and garbage signature files.
    let good = sign(
        &s,
        &id,
        "--approval-text",
        &s.key,
        "elevated-approval",
        same,
    );
    let body = std::fs::read_to_string(&good).unwrap();
    let cut = s.d.dir.path().join("cut.sig");
    std::fs::write(&cut, &body[..body.len() / 2]).unwrap();
    refuse(&cut, "signature");
    let junk = s.d.dir.path().join("junk.sig");
    std::fs::write(
        &junk,
        "-----BEGIN SSH SIGNATURE-----\nnot base64 at all!\n-----END SSH SIGNATURE-----\n",
    )
    .unwrap();
    refuse(&junk, "signature");
    // And the genuine one still works afterwards.
    let out = approve_sig(&s, &id, &good);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&s, &id)["approvals_given"], 1);
}

#[test]
fn only_the_requester_or_root_cancels_a_pending_request() {
    let s = setup();
    let id = file_request(&s, "db");
    // bob approves this role: he may see the request and deny it, but
    // withdrawing it is not his to do (it would also sidestep deny_count).
    let out = s.d.elevate(Some(&s.bob), &["cancel", &id]);
    let (o, e) = text(&out);
    assert_ne!(out.status.code(), Some(0), "{o}{e}");
    assert!(e.contains("only") && e.contains("deny"), "{o}{e}");
    assert_eq!(state(&s, &id)["state"], "pending");
    let out = s.d.elevate(Some(&s.lead), &["cancel", &id]);
    assert_ne!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&s, &id)["state"], "pending");

    let out = s.d.elevate(Some(&s.alice), &["cancel", &id]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&s, &id)["state"], "cancelled");

    let other = file_request(&s, "db");
    let out = s.d.elevate(None, &["cancel", &other]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&s, &other)["state"], "cancelled");
}

#[test]
fn an_approval_after_the_requester_left_the_group_is_refused() {
    let s = setup();
    let id = file_request(&s, "team");
    let out = Command::new("gpasswd")
        .args(["-d", &s.alice.name, &s.team.name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // bob still sees a pending request, but policy decides again for
    // alice as she is now.
    let out = s.d.elevate(Some(&s.bob), &["approve", &id]);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    assert!(e.contains("can no longer be granted"), "{o}{e}");
    assert!(e.contains("20-team.toml rule 1"), "names the rule: {o}{e}");
    assert!(e.contains(&s.team.name), "says why: {o}{e}");
    let v = state(&s, &id);
    assert_eq!(v["state"], "denied", "{v}");
    assert!(s.d.dropins().is_empty());
    assert!(!sudo_ok(&s.alice, "/usr/bin/id"));
}

#[test]
fn a_reload_adding_a_deny_rule_closes_the_pending_request() {
    let s = setup();
    let id = file_request(&s, "db");
    let other = file_request(&s, "team");
    s.d.policy(
        "30-deny.toml",
        &format!(
            "[[rules]]\nrole = \"db\"\neffect = \"deny\"\nwho = {{ users = [\"{}\"] }}\n",
            s.alice.name
        ),
    );
    let v = reload_closes(&s, &id);
    assert_eq!(v["state"], "denied", "{v}");
    let message = v["message"].as_str().unwrap();
    assert!(message.starts_with("policy changed: "), "{v}");
    assert!(message.contains("30-deny.toml"), "{v}");
    // The audit says so, and the approver can no longer approve it.
    let audit = json(&s.d.elevate(None, &["--json", "audit"]));
    assert!(
        audit["rows"].as_array().unwrap().iter().any(|r| {
            r["event"] == "denied" && r["request"] == id.as_str() && r["actor"] == "policy"
        }),
        "{audit}"
    );
    let out = s.d.elevate(Some(&s.bob), &["approve", &id]);
    assert_ne!(out.status.code(), Some(0), "{:?}", text(&out));
    // A request the new policy still allows stays pending.
    assert_eq!(state(&s, &other)["state"], "pending");
    assert!(s.d.dropins().is_empty());
}

#[test]
fn a_signature_over_a_roles_old_rights_does_not_grant_them() {
    let s = setup();
    let id = file_request(&s, "team");
    let sig = sign(
        &s,
        &id,
        "--approval-text",
        &s.key,
        "elevated-approval",
        |t| {
            // The approver reads what they grant.
            assert!(
                t.contains("commands: [\"/usr/bin/id\",\"/usr/bin/whoami\"]\n"),
                "{t}"
            );
            t
        },
    );
    // The role is narrowed before the signature is submitted.
    s.d.policy(
        "20-team.toml",
        &team_policy(&s.team, &s.bob, r#"["/usr/bin/whoami"]"#),
    );
    let v = reload_closes(&s, &id);
    assert_eq!(v["state"], "denied", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("no longer gives /usr/bin/id"),
        "{v}"
    );
    let out = approve_sig(&s, &id, &sig);
    assert_ne!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(s.d.dropins().is_empty());
    assert!(!sudo_ok(&s.alice, "/usr/bin/id"));
}
