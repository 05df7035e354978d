//! Approvals count people, not channels: `users.d` maps signing principals
//! to local accounts, so a requester's own key is refused like a local
//! self-approval and a person who approves locally and by signature counts
//! once. And a signature submitted for an id nobody showed you tells
//! nothing about it. Real daemon, real `ssh-keygen -Y sign`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::sshkeys::{keygen, pubkey};
use elevated_tests::{require_root, Daemon, TestGroup, TestUser};

struct Setup {
    d: Daemon,
    alice: TestUser,
    bob: TestUser,
    lead: TestUser,
    eve: TestUser,
    _leads: TestGroup,
    /// alice@corp, which users.d maps to alice (the requester).
    alice_key: PathBuf,
    /// A key listed for dave@corp and alice@corp: alice holds it too.
    shared_key: PathBuf,
    /// bob@corp, mapped to bob.
    bob_key: PathBuf,
    /// carol@corp, mapped to nobody.
    carol_key: PathBuf,
}

/// Role `one` needs 1 approval, role `two` needs 2 and closes on 2
/// denials; alice requests both, and is also listed as an approver
/// (locally and as alice@corp) to show that this never lets her decide.
fn setup() -> Setup {
    require_root();
    let leads = TestGroup::new("lead");
    let alice = TestUser::new("a", &[]);
    let bob = TestUser::new("b", &[]);
    let lead = TestUser::new("l", &[&leads]);
    let eve = TestUser::new("e", &[]);
    let mut d = Daemon::new("");
    let keys = d.dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let alice_key = keygen(&keys, "alice");
    let shared_key = keygen(&keys, "shared");
    let bob_key = keygen(&keys, "bob");
    let carol_key = keygen(&keys, "carol");
    d.file(
        "allowed_signers",
        &format!(
            "alice@corp {}\ndave@corp,alice@corp {}\nbob@corp {}\ncarol@corp {}\n",
            pubkey(&alice_key),
            pubkey(&shared_key),
            pubkey(&bob_key),
            pubkey(&carol_key)
        ),
        0o644,
    );
    d.file(
        "users.d/10-people.toml",
        &format!(
            "[users.{a}]\nprincipals = [\"alice@corp\"]\n\n[users.{b}]\nprincipals = [\"bob@corp\"]\n",
            a = alice.name,
            b = bob.name
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
    let approvers = format!(
        "approvers = {{ users = [\"{b}\", \"{a}\"], groups = [\"{g}\"], \
         principals = [\"alice@corp\", \"dave@corp\", \"bob@corp\", \"carol@corp\"] }}",
        a = alice.name,
        b = bob.name,
        g = leads.name
    );
    d.policy(
        "10-p.toml",
        &format!(
            "[roles.one]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [roles.two]\nsudo = {{ commands = [\"/usr/bin/whoami\"] }}\n\n\
             [[rules]]\nrole = \"one\"\nwho = {{ users = [\"{a}\"] }}\n\
             approval = {{ count = 1, {approvers} }}\n\n\
             [[rules]]\nrole = \"two\"\nwho = {{ users = [\"{a}\"] }}\n\
             approval = {{ count = 2, deny_count = 2, {approvers} }}\n",
            a = alice.name,
        ),
    );
    d.start();
    Setup {
        d,
        alice,
        bob,
        lead,
        eve,
        _leads: leads,
        alice_key,
        shared_key,
        bob_key,
        carol_key,
    }
}

fn file_request(s: &Setup, role: &str) -> String {
    let out = s.d.elevate(
        Some(&s.alice),
        &["--json", "request", role, "--no-wait", "--reason", "r"],
    );
    assert_eq!(out.status.code(), Some(3), "pending: {:?}", text(&out));
    json(&out)["id"].as_str().unwrap().to_owned()
}

fn state(s: &Setup, id: &str) -> serde_json::Value {
    json(&s.d.elevate(None, &["--json", "show", id]))
}

/// The request's current decision text (`flag`: `--approval-text` or
/// `--denial-text`), signed with `key`; returns the .sig path.
fn sign(s: &Setup, id: &str, flag: &str, key: &Path) -> PathBuf {
    let out = s.d.elevate(None, &["show", id, flag]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let file = s.d.dir.path().join(format!("{id}-{n}.txt"));
    std::fs::write(&file, &out.stdout).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "elevated-approval", "-f"])
        .arg(key)
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut sig = file.into_os_string();
    sig.push(".sig");
    PathBuf::from(sig)
}

/// `elevate VERB ID --signature SIG`, submitted by `by`.
fn submit(s: &Setup, by: &TestUser, verb: &str, id: &str, sig: &Path) -> Output {
    s.d.elevate(Some(by), &[verb, id, "--signature", sig.to_str().unwrap()])
}

fn refused(out: &Output, want: &str) {
    let (o, e) = text(out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    assert!(e.contains(want), "expected {want:?} in: {o}{e}");
}

#[test]
fn a_requesters_own_mapped_key_is_refused_for_request_and_extension() {
    let s = setup();
    let id = file_request(&s, "one");
    let own = sign(&s, &id, "--approval-text", &s.alice_key);
    refused(
        &submit(&s, &s.lead, "approve", &id, &own),
        "their own request",
    );
    // Listed for dave@corp too, but alice@corp makes it hers.
    let shared = sign(&s, &id, "--approval-text", &s.shared_key);
    refused(
        &submit(&s, &s.lead, "approve", &id, &shared),
        "their own request",
    );
    // Her own denial does not count either.
    let deny = sign(&s, &id, "--denial-text", &s.alice_key);
    refused(
        &submit(&s, &s.lead, "deny", &id, &deny),
        "their own request",
    );
    let v = state(&s, &id);
    assert_eq!(v["state"], "pending", "{v}");
    assert_eq!(v["approvals_given"], 0, "{v}");

    let carol = sign(&s, &id, "--approval-text", &s.carol_key);
    let out = submit(&s, &s.lead, "approve", &id, &carol);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&s, &id)["state"], "active");
    let before = state(&s, &id)["expires_at"].clone();

    let out = s.d.elevate(
        Some(&s.alice),
        &["extend", &id, "--for", "10m", "--no-wait"],
    );
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    let own = sign(&s, &id, "--approval-text", &s.alice_key);
    refused(
        &submit(&s, &s.lead, "approve", &id, &own),
        "their own request",
    );
    let v = state(&s, &id);
    assert_eq!(v["expires_at"], before, "{v}");
    assert!(v["extension_secs"].is_number(), "still pending: {v}");
    let carol = sign(&s, &id, "--approval-text", &s.carol_key);
    let out = submit(&s, &s.lead, "approve", &id, &carol);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_ne!(state(&s, &id)["expires_at"], before);
}

#[test]
fn one_person_approving_locally_and_by_signature_counts_once() {
    let s = setup();
    let id = file_request(&s, "two");
    let out = s.d.elevate(Some(&s.bob), &["approve", &id]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let sig = sign(&s, &id, "--approval-text", &s.bob_key);
    let out = submit(&s, &s.lead, "approve", &id, &sig);
    let (o, e) = text(&out);
    assert_ne!(out.status.code(), Some(0), "{o}{e}");
    assert!(e.contains("counts once"), "{o}{e}");
    let v = state(&s, &id);
    assert_eq!(v["state"], "pending", "{v}");
    assert_eq!(v["approvals_given"], 1, "{v}");

    // Another person completes it; the audit names channel and person.
    let sig = sign(&s, &id, "--approval-text", &s.carol_key);
    let out = submit(&s, &s.lead, "approve", &id, &sig);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&s, &id)["state"], "active");
    let audit = json(&s.d.elevate(None, &["--json", "audit"]));
    let rows: Vec<_> = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"] == "approval")
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1]["detail"]["approver"], "principal:carol@corp");
    assert_eq!(rows[1]["detail"]["person"], "principal:carol@corp");
    assert_eq!(rows[1]["detail"]["via"], "ssh-signature");
}

#[test]
fn one_person_denying_by_signature_and_locally_counts_once() {
    let s = setup();
    let id = file_request(&s, "two");
    let sig = sign(&s, &id, "--denial-text", &s.bob_key);
    let out = submit(&s, &s.lead, "deny", &id, &sig);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = s.d.elevate(Some(&s.bob), &["deny", &id]);
    let (o, e) = text(&out);
    assert_ne!(out.status.code(), Some(0), "{o}{e}");
    assert!(e.contains("counts once"), "{o}{e}");
    assert_eq!(state(&s, &id)["state"], "pending");
    let out = s.d.elevate(Some(&s.lead), &["deny", &id]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&s, &id)["state"], "denied");
}

#[test]
fn a_junk_signature_tells_nothing_about_an_id() {
    let s = setup();
    let revoked = file_request(&s, "one");
    let sig = sign(&s, &revoked, "--approval-text", &s.carol_key);
    assert_eq!(
        submit(&s, &s.lead, "approve", &revoked, &sig).status.code(),
        Some(0)
    );
    let out = s.d.elevate(Some(&s.alice), &["revoke", &revoked]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let active = file_request(&s, "one");
    let sig = sign(&s, &active, "--approval-text", &s.carol_key);
    assert_eq!(
        submit(&s, &s.lead, "approve", &active, &sig).status.code(),
        Some(0)
    );
    // Another role: alice holds "one" now, and is not given it twice.
    let pending = file_request(&s, "two");
    let junk = s.d.dir.path().join("junk.sig");
    std::fs::write(
        &junk,
        "-----BEGIN SSH SIGNATURE-----\nnot base64 at all!\n-----END SSH SIGNATURE-----\n",
    )
    .unwrap();
    // A real signature, over another request's text.
    let elsewhere = sign(&s, &pending, "--approval-text", &s.carol_key);

    let answer = |id: &str, sig: &Path| {
        let out = submit(&s, &s.eve, "approve", id, sig);
        (out.status.code(), text(&out).1.replace(id, "ID"))
    };
    let unknown = answer("zzzzzzzz", &junk);
    assert_ne!(unknown.0, Some(0));
    assert!(
        unknown.1.contains("no request ID visible to you"),
        "{unknown:?}"
    );
    for id in [&revoked, &active, &pending] {
        assert_eq!(answer(id, &junk), unknown, "{id}");
    }
    assert_eq!(answer(&revoked, &elsewhere), unknown);
    // `show` answers the same.
    let out = s.d.elevate(Some(&s.eve), &["show", &revoked]);
    assert_eq!(
        (out.status.code(), text(&out).1.replace(&revoked, "ID")),
        unknown
    );
    // Whoever can see the request still gets the precise answer.
    let out = submit(&s, &s.alice, "approve", &revoked, &junk);
    assert!(text(&out).1.contains("is revoked"), "{:?}", text(&out));
}

#[test]
fn check_config_warns_when_a_requester_is_a_mapped_approver() {
    let s = setup();
    let out = s.d.elevated_cmd(&["check-config"]);
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{o}{e}");
    assert!(o.contains("configuration OK"), "{o}{e}");
    let warnings: Vec<&str> = e.lines().filter(|l| l.contains("warning")).collect();
    // Both rules let alice request and list alice@corp, which is hers.
    assert_eq!(warnings.len(), 2, "{e}");
    for w in &warnings {
        assert!(w.contains(&s.alice.name) && w.contains("alice@corp"), "{w}");
    }
    assert!(!e.contains("bob@corp"), "bob never requests: {e}");
}
