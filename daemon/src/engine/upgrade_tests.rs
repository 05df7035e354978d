//! A state database written by release 0.1.0 (before audit events were
//! typed and transitions shared one pipeline), opened by this one: its
//! audit chain still verifies, its requests are served, and new
//! transitions extend its chain.
//!
//! `daemon/tests/fixtures/state-0.1.0.db` was written by the 0.1.0
//! engine: grants, approvals, denials, extensions (granted, approved,
//! withdrawn), a break-glass grant and its review, a cancellation, a
//! revocation, a refusal, a timeout and expiries.

use elevated_proto::{AuditQuery, ListFilter, Request, RequestState, Response};

use super::testkit::*;
use crate::store::{audit, Store};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state-0.1.0.db");

/// The events 0.1.0 wrote, in order.
const WRITTEN: [&str; 34] = [
    "requested",
    "granted",
    "extension_asked",
    "extended",
    "requested",
    "pending",
    "approval",
    "granted",
    "extension_asked",
    "extension_requested",
    "extension_cancelled",
    "extension_asked",
    "extension_requested",
    "approval",
    "extended",
    "revoked",
    "requested",
    "pending",
    "denial",
    "denied",
    "requested",
    "pending",
    "cancelled",
    "requested",
    "granted",
    "break_glass",
    "reviewed",
    "requested",
    "denied",
    "requested",
    "pending",
    "timed_out",
    "expired",
    "expired",
];

fn upgraded() -> Env {
    env_over("/usr/sbin/visudo", |dir| {
        let db = dir.join("elevated.db");
        std::fs::copy(FIXTURE, &db).unwrap();
        Store::open(&db).unwrap()
    })
}

#[test]
fn a_database_of_the_previous_release_verifies_and_is_served() {
    let e = upgraded();
    assert_eq!(events(&e), WRITTEN);
    let root = peer("root", 0);
    match e.engine.handle(&root, Request::AuditVerify {}, t(200_000)) {
        Response::AuditVerify { ok, rows, .. } => {
            assert!(ok, "the old chain verifies");
            assert_eq!(rows, 34);
        }
        other => panic!("{other:?}"),
    }
    let listed = match e.engine.handle(
        &root,
        Request::List(ListFilter {
            pending: false,
            all: true,
            unreviewed: false,
        }),
        t(200_000),
    ) {
        Response::Requests { requests, .. } => requests,
        other => panic!("{other:?}"),
    };
    let mut states: Vec<&str> = listed.iter().map(|r| r.state.as_str()).collect();
    states.sort_unstable();
    assert_eq!(
        states,
        [
            "cancelled",
            "denied",
            "denied",
            "expired",
            "expired",
            "revoked",
            "timed_out"
        ]
    );
    for r in &listed {
        let shown = view(e.engine.handle(
            &root,
            Request::Show {
                id: elevated_proto::GrantId::parse(&r.id).unwrap(),
            },
            t(200_000),
        ));
        assert_eq!(shown.state, r.state);
    }
    match e.engine.handle(
        &root,
        Request::Audit(AuditQuery {
            since: None,
            limit: Some(100),
        }),
        t(200_000),
    ) {
        Response::Audit { rows, .. } => assert_eq!(rows.len(), 34),
        other => panic!("{other:?}"),
    }
}

#[test]
fn new_transitions_continue_the_old_chain() {
    let e = upgraded();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(60), None, t(200_000)));
    assert_eq!(v.state, RequestState::Active);
    let _ = view(
        e.engine
            .handle(&ferris, Request::Revoke { id: id(&v) }, t(200_010)),
    );
    let st = e.engine.lock();
    let verified = audit::verify(st.store.conn()).unwrap();
    assert_eq!(verified.first_bad, None);
    assert_eq!(verified.rows, 37);
    drop(st);
    assert_eq!(events(&e)[34..], ["requested", "granted", "revoked"]);
}
