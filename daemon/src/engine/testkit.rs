//! What the engine's unit tests share: an engine over a controlled clock,
//! an in-memory (or temporary) store, the real visudo and a temporary
//! sudoers directory; the policy they ask under; and the calls they make.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use elevated_proto::{
    DecideOn, ErrorCode, ExtendBy, GrantId, NewRequest, Request, RequestView, Response, RoleName,
    UserName,
};
use jiff::Timestamp;

use super::{Engine, Peer};
use crate::config::{Loaded, Settings};
use crate::policy::*;
use crate::store::{audit, Store};
use crate::sys::users::Account;

pub(super) fn role(name: &str) -> Role {
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
        allow_privileged_groups: false,
        on_expiry: OnExpiry::Warn,
        terminate_grace: Duration::from_secs(5),
        login: false,
        default_duration: Duration::from_secs(600),
        max_duration: Duration::from_secs(3600),
        actions: vec![Command::Path {
            path: "/usr/bin/systemctl".into(),
            args: None,
        }],
        action_duration: Duration::from_secs(300),
        reauth: false,
        source: SourceRef {
            file: "10-t.toml".into(),
            line: 1,
        },
    }
}

pub(super) fn rule(role: &str, approvals: u32, index: usize) -> Rule {
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
        context: None,
        approval: Approval {
            count: approvals,
            approvers: Approvers {
                users: vec![
                    UserName::parse("boss").unwrap(),
                    UserName::parse("ferris").unwrap(),
                ],
                groups: vec![elevated_proto::GroupName::parse("leads").unwrap()],
                ..Approvers::default()
            },
            reason: role == "needs-reason",
            reauth: false,
            timeout: None,
            break_glass: role == "glass",
            deny_count: 1,
            verify_required: false,
        },
    }
}

pub(super) struct Env {
    pub(super) engine: Engine,
    pub(super) dir: tempfile::TempDir,
    /// The user database the engine looks requesters up in (by uid).
    pub(super) accounts: Arc<std::sync::Mutex<BTreeMap<u32, Account>>>,
}

/// An account as [`peer_in`] describes it.
pub(super) fn account(name: &str, uid: u32, groups: &[&str]) -> Account {
    let mut all = BTreeSet::from([name.to_owned()]);
    all.extend(groups.iter().map(|g| (*g).to_owned()));
    Account {
        name: name.into(),
        uid,
        gid: uid,
        groups: all,
    }
}

pub(super) fn env_with(visudo: &str) -> Env {
    env_stored(visudo, false)
}

/// An engine whose store is a file (`on_disk`) or in memory.
pub(super) fn env_stored(visudo: &str, on_disk: bool) -> Env {
    env_over(visudo, |dir| {
        if on_disk {
            Store::open(&dir.join("elevated.db")).unwrap()
        } else {
            Store::open_in_memory().unwrap()
        }
    })
}

/// An engine over the store `open` opens in the test's directory.
pub(super) fn env_over(visudo: &str, open: impl FnOnce(&std::path::Path) -> Store) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let sudoers = dir.path().join("sudoers.d");
    std::fs::create_dir(&sudoers).unwrap();
    let mut settings = Settings::default();
    settings.daemon.sudoers_dir = sudoers;
    settings.daemon.visudo = PathBuf::from(visudo);
    settings.daemon.syslog_socket = dir.path().join("no-syslog");
    let mut policy = Policy::default();
    let roles = [
        ("ops", 0),
        ("gated", 1),
        ("needs-reason", 0),
        ("two", 2),
        ("glass", 0),
    ];
    for (i, (name, n)) in roles.iter().enumerate() {
        policy
            .roles
            .insert(RoleName::parse(name).unwrap(), role(name));
        policy.push_rule(rule(name, *n, i + 1));
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
        principals: Default::default(),
    };
    let store = open(dir.path());
    let mut engine = Engine::new(store, Arc::new(cfg));
    // The requesters the tests use, as NSS would know them.
    let accounts = Arc::new(std::sync::Mutex::new(BTreeMap::from([(
        4242,
        account("ferris", 4242, &[]),
    )])));
    let table = accounts.clone();
    // The holders of these tests' grants exist only here: NSS would call
    // them gone.
    engine.lock().accounts = |_, _| Ok(super::holder::Holder::Same);
    engine.directory = Box::new(move |uid| {
        table
            .lock()
            .unwrap()
            .get(&uid)
            .cloned()
            .ok_or_else(|| format!("no user with uid {uid} in the user database"))
    });
    Env {
        engine,
        dir,
        accounts,
    }
}

pub(super) fn env() -> Env {
    env_with("/usr/sbin/visudo")
}

pub(super) fn peer(name: &str, uid: u32) -> Peer {
    peer_in(name, uid, &[])
}

pub(super) fn peer_in(name: &str, uid: u32, groups: &[&str]) -> Peer {
    Peer::known(account(name, uid, groups), Some(1), Default::default())
}

/// `ferris` under uid `5000 + i`. One account holds one grant (or
/// pending request) of a role at a time; tests that need many at once ask
/// as as many accounts called ferris (the rules match the name).
pub(super) fn ferris_no(i: usize) -> Peer {
    peer("ferris", 5000 + u32::try_from(i).unwrap())
}

/// Adds roles `gated-1` .. `gated-N`, each needing one approval, for tests
/// that fill a user's pending requests (one per role).
pub(super) fn gated_roles(e: &Env, n: usize) {
    let mut cfg = (*e.engine.config()).clone();
    for i in 1..=n {
        let name = format!("gated-{i}");
        let mut r = rule("gated", 1, 10 + i);
        r.role = RoleName::parse(&name).unwrap();
        cfg.policy.roles.insert(r.role.clone(), role(&name));
        cfg.policy.push_rule(r);
    }
    e.engine.set_config(cfg);
}

pub(super) fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

pub(super) fn ask(
    e: &Env,
    who: &Peer,
    role: &str,
    secs: Option<u64>,
    reason: Option<&str>,
    now: Timestamp,
) -> Response {
    e.engine.handle(
        who,
        Request::Request(NewRequest {
            role: RoleName::parse(role).unwrap(),
            duration_secs: secs,
            command: None,
            reason: reason.map(str::to_owned),
            ticket: None,
        }),
        now,
    )
}

pub(super) fn view(r: Response) -> RequestView {
    match r {
        Response::Request { request } => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

pub(super) fn err(r: Response) -> (ErrorCode, String) {
    match r {
        Response::Error { code, message } => (code, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

pub(super) fn id(v: &RequestView) -> GrantId {
    GrantId::parse(&v.id).unwrap()
}

pub(super) fn events(e: &Env) -> Vec<String> {
    let st = e.engine.lock();
    audit::list(st.store.conn(), None, 1000, None)
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .collect()
}

pub(super) fn file(e: &Env, v: &RequestView) -> PathBuf {
    e.dir
        .path()
        .join("sudoers.d")
        .join(format!("elevated_{}", v.id))
}

pub(super) fn approve(e: &Env, who: &Peer, v: &RequestView, now: Timestamp) -> Response {
    e.engine.handle(
        who,
        Request::Approve(DecideOn {
            id: id(v),
            comment: Some("ok".into()),
            signature: None,
        }),
        now,
    )
}

/// `who` denies `v`, with `comment` if given.
pub(super) fn deny(
    e: &Env,
    who: &Peer,
    v: &RequestView,
    comment: Option<&str>,
    now: Timestamp,
) -> Response {
    e.engine.handle(
        who,
        Request::Deny(DecideOn {
            id: id(v),
            comment: comment.map(str::to_owned),
            signature: None,
        }),
        now,
    )
}

/// The configuration in force, changed by `f`, swapped in without a
/// reload's own re-checks (what a transition must catch by itself).
pub(super) fn configure(e: &Env, f: impl FnOnce(&mut Loaded)) {
    let mut cfg = (*e.engine.config()).clone();
    f(&mut cfg);
    e.engine.set_config(cfg);
}

/// `who` asks to extend `v` by `secs` at `t(at)`.
pub(super) fn extend(
    e: &Env,
    who: &Peer,
    v: &RequestView,
    secs: u64,
    reason: Option<&str>,
    at: i64,
) -> Response {
    e.engine.handle(
        who,
        Request::Extend(ExtendBy {
            id: id(v),
            duration_secs: secs,
            reason: reason.map(str::to_owned),
        }),
        t(at),
    )
}

/// The answer of an outcome that needed no re-authentication.
pub(super) fn done(o: super::Outcome) -> Response {
    match o {
        super::Outcome::Done(r) => r,
        super::Outcome::NeedsReauth => panic!("asked to re-authenticate"),
    }
}
