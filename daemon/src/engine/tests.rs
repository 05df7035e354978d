//! The state machine with a controlled clock, an in-memory store, the real
//! visudo and a temporary sudoers directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use elevated_proto::{
    ErrorCode, GrantId, Request, RequestState, RequestView, Response, RoleName, UserName,
};
use jiff::Timestamp;

use super::{Engine, Peer};
use crate::config::{Loaded, Settings};
use crate::policy::*;
use crate::store::{audit, Store};
use crate::sys::users::Account;

fn role(name: &str) -> Role {
    Role {
        name: RoleName::parse(name).unwrap(),
        description: String::new(),
        sudo: Some(SudoSpec {
            runas: UserName::parse("root").unwrap(),
            commands: vec![Command::Path {
                path: "/usr/bin/id".into(),
                args: None,
            }],
            nopasswd: true,
        }),
        groups: vec![],
        login: false,
        default_duration: Duration::from_secs(600),
        max_duration: Duration::from_secs(3600),
        source: SourceRef {
            file: "10-t.toml".into(),
            line: 1,
        },
    }
}

fn rule(role: &str, approvals: u32, index: usize) -> Rule {
    Rule {
        index_in_file: index,
        source: SourceRef {
            file: "10-t.toml".into(),
            line: u32::try_from(index * 10).unwrap(),
        },
        role: RoleName::parse(role).unwrap(),
        effect: Effect::Allow,
        who: Some(Who {
            users: Some(vec![UserName::parse("ferris").unwrap()]),
            ..Who::default()
        }),
        r#where: None,
        when: None,
        approval: Approval {
            count: approvals,
            approvers: Approvers {
                users: vec![UserName::parse("boss").unwrap()],
                ..Approvers::default()
            },
            reason: role == "needs-reason",
            reauth: false,
            timeout: None,
        },
    }
}

struct Env {
    engine: Engine,
    dir: tempfile::TempDir,
}

fn env_with(visudo: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sudoers = dir.path().join("sudoers.d");
    std::fs::create_dir(&sudoers).unwrap();
    let mut settings = Settings::default();
    settings.daemon.sudoers_dir = sudoers;
    settings.daemon.visudo = PathBuf::from(visudo);
    settings.daemon.syslog_socket = dir.path().join("no-syslog");
    let mut policy = Policy::default();
    for (i, (name, n)) in [("ops", 0), ("gated", 1), ("needs-reason", 0)]
        .iter()
        .enumerate()
    {
        policy
            .roles
            .insert(RoleName::parse(name).unwrap(), role(name));
        policy.rules.push(rule(name, *n, i + 1));
    }
    let cfg = Loaded {
        settings,
        config_path: None,
        policy,
        host: HostFacts {
            name: "testhost".into(),
            tags: BTreeMap::new(),
            max_duration: Duration::from_secs(7200),
        },
        users: BTreeMap::new(),
    };
    let engine = Engine::new(Store::open_in_memory().unwrap(), Arc::new(cfg));
    Env { engine, dir }
}

fn env() -> Env {
    env_with("/usr/sbin/visudo")
}

fn peer(name: &str, uid: u32) -> Peer {
    Peer {
        uid,
        pid: Some(1),
        account: Account {
            name: name.into(),
            uid,
            gid: uid,
            groups: BTreeSet::from([name.to_owned()]),
        },
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn ask(
    e: &Env,
    who: &Peer,
    role: &str,
    secs: Option<u64>,
    reason: Option<&str>,
    now: Timestamp,
) -> Response {
    e.engine.handle(
        who,
        Request::Request {
            role: RoleName::parse(role).unwrap(),
            duration_secs: secs,
            reason: reason.map(str::to_owned),
            ticket: None,
        },
        now,
    )
}

fn view(r: Response) -> RequestView {
    match r {
        Response::Request { request } => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn err(r: Response) -> (ErrorCode, String) {
    match r {
        Response::Error { code, message } => (code, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn id(v: &RequestView) -> GrantId {
    GrantId::parse(&v.id).unwrap()
}

fn events(e: &Env) -> Vec<String> {
    let st = e.engine.lock();
    audit::list(st.store.conn(), None, 1000, None)
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .collect()
}

fn file(e: &Env, v: &RequestView) -> PathBuf {
    e.dir
        .path()
        .join("sudoers.d")
        .join(format!("elevated_{}", v.id))
}

#[test]
fn grant_then_expire_exactly_at_the_end() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(90), Some("x"), t(0)));
    assert_eq!(v.state, RequestState::Active);
    assert_eq!(v.duration_secs, 90);
    assert!(file(&e, &v).exists());
    let text = std::fs::read_to_string(file(&e, &v)).unwrap();
    assert!(text.contains("ferris ALL = (root) NOTAFTER="), "{text}");
    assert_eq!(e.engine.next_deadline(), Some(t(90).as_millisecond()));

    assert_eq!(e.engine.expire_due(t(89)).unwrap(), 0);
    assert!(file(&e, &v).exists());
    assert_eq!(e.engine.expire_due(t(90)).unwrap(), 1);
    assert!(!file(&e, &v).exists());
    let after = view(
        e.engine
            .handle(&ferris, Request::Show { id: id(&v) }, t(91)),
    );
    assert_eq!(after.state, RequestState::Expired);
    assert_eq!(events(&e), ["requested", "granted", "expired"]);
    assert!(e.engine.next_deadline().is_none());
    let st = e.engine.lock();
    assert_eq!(audit::verify(st.store.conn()).unwrap().first_bad, None);
}

#[test]
fn durations_clamp_and_zero_is_refused() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(10 * 3600), None, t(0)));
    assert_eq!(v.duration_secs, 3600, "clamped to the role's max");
    let v = view(ask(&e, &ferris, "ops", None, None, t(0)));
    assert_eq!(v.duration_secs, 600, "the role's default");
    let (code, msg) = err(ask(&e, &ferris, "ops", Some(0), None, t(0)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("one second"), "{msg}");
}

#[test]
fn refused_requests_are_recorded_and_write_nothing() {
    let e = env();
    let mallory = peer("mallory", 666);
    let v = view(ask(&e, &mallory, "ops", Some(60), None, t(0)));
    assert_eq!(v.state, RequestState::Denied);
    assert!(!file(&e, &v).exists());
    assert_eq!(events(&e), ["requested", "denied"]);
}

#[test]
fn requester_text_is_bounded_and_checked() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let (code, msg) = err(ask(
        &e,
        &ferris,
        "ops",
        Some(60),
        Some(&"x".repeat(2000)),
        t(0),
    ));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("limit is 1024"), "{msg}");
    let (_, msg) = err(ask(&e, &ferris, "ops", Some(60), Some("a\u{1b}[2Jb"), t(0)));
    assert!(msg.contains("control character"), "{msg}");
    let (_, msg) = err(ask(&e, &ferris, "needs-reason", Some(60), None, t(0)));
    assert!(msg.contains("requires a reason"), "{msg}");
    let v = view(ask(
        &e,
        &ferris,
        "needs-reason",
        Some(60),
        Some("line\nline"),
        t(0),
    ));
    assert_eq!(v.state, RequestState::Active);
}

#[test]
fn pending_requests_are_bounded_cancellable_and_time_out() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let first = view(ask(&e, &ferris, "gated", Some(60), None, t(0)));
    assert_eq!(first.state, RequestState::Pending);
    assert_eq!(first.approvals_needed, 1);
    for _ in 1..5 {
        assert_eq!(
            view(ask(&e, &ferris, "gated", Some(60), None, t(0))).state,
            RequestState::Pending
        );
    }
    let (code, _) = err(ask(&e, &ferris, "gated", Some(60), None, t(0)));
    assert_eq!(code, ErrorCode::Limit);

    // Someone else cannot cancel it, or even see it.
    let (code, _) = err(e.engine.handle(
        &peer("mallory", 666),
        Request::Cancel { id: id(&first) },
        t(1),
    ));
    assert_eq!(code, ErrorCode::NotFound);
    let c = view(
        e.engine
            .handle(&ferris, Request::Cancel { id: id(&first) }, t(1)),
    );
    assert_eq!(c.state, RequestState::Cancelled);
    let (code, msg) = err(e
        .engine
        .handle(&ferris, Request::Cancel { id: id(&first) }, t(2)));
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("cancelled"), "{msg}");

    // The default pending_ttl is one hour.
    assert_eq!(e.engine.expire_due(t(3599)).unwrap(), 0);
    assert_eq!(e.engine.expire_due(t(3600)).unwrap(), 4);
    let st = e.engine.lock();
    let pending = crate::store::requests::pending_count(st.store.conn(), 4242).unwrap();
    assert_eq!(pending, 0);
}

#[test]
fn revoke_by_holder_or_root_only() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    let (code, _) =
        err(e
            .engine
            .handle(&peer("mallory", 666), Request::Revoke { id: id(&v) }, t(1)));
    assert_eq!(code, ErrorCode::NotFound);
    assert!(file(&e, &v).exists());
    let r = view(
        e.engine
            .handle(&peer("root", 0), Request::Revoke { id: id(&v) }, t(2)),
    );
    assert_eq!(r.state, RequestState::Revoked);
    assert!(!file(&e, &v).exists());
    assert!(r.message.contains("revoked by root"));
    let (code, _) = err(e
        .engine
        .handle(&ferris, Request::Revoke { id: id(&v) }, t(3)));
    assert_eq!(code, ErrorCode::BadRequest);
}

#[test]
fn reconcile_repairs_the_host() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let keep = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    let edited = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    let late = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
    let dir = e.dir.path().join("sudoers.d");
    std::fs::remove_file(file(&e, &keep)).unwrap();
    std::fs::write(file(&e, &edited), "ferris ALL=(ALL) NOPASSWD: ALL\n").unwrap();
    std::fs::write(dir.join("elevated_zzzz2345"), "# stray\n").unwrap();
    std::fs::write(dir.join("elevated_abcd2345.tmp"), "# half-written\n").unwrap();
    std::fs::write(dir.join("other-admin-file"), "# not ours\n").unwrap();

    let report = e.engine.reconcile(t(120)).unwrap();
    assert_eq!(report.expired, 1);
    let mut rewritten = report.rewritten.clone();
    rewritten.sort();
    let mut want = vec![keep.id.clone(), edited.id.clone()];
    want.sort();
    assert_eq!(rewritten, want);
    assert_eq!(
        report.removed,
        ["elevated_abcd2345.tmp", "elevated_zzzz2345"]
    );
    assert!(file(&e, &keep).exists());
    assert!(!std::fs::read_to_string(file(&e, &edited))
        .unwrap()
        .contains("(ALL)"));
    assert!(!file(&e, &late).exists());
    assert!(dir.join("other-admin-file").exists());
    // A second pass finds nothing to do.
    assert_eq!(e.engine.reconcile(t(121)).unwrap(), Default::default());
}

#[test]
fn a_grant_visudo_rejects_is_not_granted() {
    let e = env_with("/bin/false");
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(60), None, t(0)));
    assert_eq!(v.state, RequestState::Denied);
    assert!(v.message.contains("could not be applied"), "{}", v.message);
    assert!(std::fs::read_dir(e.dir.path().join("sudoers.d"))
        .unwrap()
        .next()
        .is_none());
    assert_eq!(events(&e), ["requested", "grant_failed"]);
}
