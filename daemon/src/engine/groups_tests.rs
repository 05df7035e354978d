//! Group grants inside the engine, against real users, groups and gpasswd
//! (root): the membership journal across hand-overs between grants and
//! across accounts that change under a grant.

use std::process::Command;

use elevated_proto::{GroupName, Request, RequestState, RoleName, UserName};

use super::testkit::{approve, ask, env, events, id, peer, role, rule, t, view, Env};
use crate::grant::test_host::{root_lock, TestGroup, TestUser};
use crate::policy::Who;
use crate::store::memberships;

/// An engine whose policy gives `user` the test group: role `gauto` at
/// once, role `gappr` after one approval (by `boss`).
fn group_env(user: &TestUser, group: &TestGroup) -> Env {
    let e = env();
    let mut cfg = (*e.engine.config()).clone();
    for (i, (name, approvals)) in [("gauto", 0), ("gappr", 1)].into_iter().enumerate() {
        let mut r = role(name);
        r.sudo = None;
        r.groups = vec![GroupName::parse(&group.name).unwrap()];
        cfg.policy.roles.insert(RoleName::parse(name).unwrap(), r);
        let mut allow = rule(name, approvals, 10 + i);
        allow.who = Some(Who {
            users: Some(vec![UserName::parse(&user.name).unwrap()]),
            ..Who::default()
        });
        cfg.policy.push_rule(allow);
    }
    e.engine.reload(cfg, super::testkit::t(0));
    e.engine.lock().accounts = super::holder::nss;
    // The requester, as the re-check of policy at activation looks it up.
    e.accounts
        .lock()
        .unwrap()
        .insert(user.uid, super::testkit::account(&user.name, user.uid, &[]));
    e
}

fn is_member(user: &TestUser, group: &TestGroup) -> bool {
    let text = std::fs::read_to_string("/etc/group").unwrap();
    crate::grant::groups::find_group(&text, &group.name)
        .unwrap()
        .members
        .contains(&user.name)
}

fn gpasswd(flag: &str, user: &TestUser, group: &TestGroup) {
    let out = Command::new("gpasswd")
        .args([flag, &user.name, &group.name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// (grant, state) of every journal row, open or closed.
fn journal(e: &Env) -> Vec<(String, String)> {
    let st = e.engine.lock();
    let mut stmt = st
        .store
        .conn()
        .prepare("SELECT request_id, state FROM memberships ORDER BY request_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn open_rows(e: &Env) -> Vec<(String, String)> {
    let st = e.engine.lock();
    memberships::open(st.store.conn(), None)
        .unwrap()
        .into_iter()
        .map(|m| (m.request_id, m.state))
        .collect()
}

/// Found by the crash campaign (seed 20261202): a grant that already had a
/// (closed) journal row for the group inherited the membership of another
/// grant; handing it over collided with that row (`UNIQUE constraint
/// failed: memberships.request_id, memberships.grp`), the old row stayed
/// open, and every reconciliation and restart failed on it from then on.
#[test]
fn root_a_membership_handed_to_a_grant_with_its_own_closed_row_is_handed_over() {
    let _host = root_lock();
    let group = TestGroup::new("eh");
    let user = TestUser::new("eh", &[]);
    let e = group_env(&user, &group);
    let me = peer(&user.name, user.uid);
    let boss = peer("boss", 1);

    let x = view(ask(&e, &me, "gappr", Some(600), None, t(0)));
    assert_eq!(x.state, RequestState::Pending);
    // A first approval of X journalled and added the membership, then the
    // daemon was killed before the commit (fault point after_gpasswd); the
    // restart took it back and closed X's row. X is still pending.
    {
        let mut st = e.engine.lock();
        st.store
            .tx(|tx| memberships::begin(tx, &x.id, &user.name, &group.name))
            .unwrap();
    }
    gpasswd("-a", &user, &group);
    let r = e.engine.reconcile(t(1)).unwrap();
    assert_eq!((r.groups_removed, r.failed), (1, 0), "{r:?}");
    assert!(!is_member(&user, &group));
    assert_eq!(journal(&e), vec![(x.id.clone(), "removed".to_owned())]);

    // Y adds the membership; X, approved meanwhile, finds it there and
    // journals nothing: X's closed row stays.
    let y = view(ask(&e, &me, "gauto", Some(600), None, t(2)));
    assert_eq!(y.state, RequestState::Active);
    assert!(is_member(&user, &group));
    let x = view(approve(&e, &boss, &x, t(3)));
    assert_eq!(x.state, RequestState::Active);

    // Y ends: X still owes the membership, so it is handed to X.
    let out = view(e.engine.handle(&me, Request::Revoke { id: id(&y) }, t(4)));
    assert_eq!(out.state, RequestState::Revoked);
    assert!(is_member(&user, &group));
    assert_eq!(open_rows(&e), vec![(x.id.clone(), "added".to_owned())]);
    assert!(events(&e).contains(&"group_kept".to_owned()));
    let r = e.engine.reconcile(t(5)).unwrap();
    assert_eq!(r.failed, 0, "{r:?}");

    // X ends: the membership goes with it.
    let out = view(e.engine.handle(&me, Request::Revoke { id: id(&x) }, t(6)));
    assert_eq!(out.state, RequestState::Revoked);
    assert!(!is_member(&user, &group));
    assert_eq!(open_rows(&e), vec![]);
    assert_eq!(e.engine.reconcile(t(7)).unwrap(), Default::default());
}
