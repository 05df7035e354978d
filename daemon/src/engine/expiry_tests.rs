//! Many windows ending at once: one pass of the timer ends them all,
//! leaves later ones alone, and keeps the audit chain whole.

use elevated_proto::{ErrorCode, Request, RequestState};

use super::testkit::{ask, env, err, events, ferris_no, file, id, peer, t, view};
use crate::store::audit;

#[test]
fn windows_ending_in_the_same_second_end_together() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let root = peer("root", 0);
    // One grant of a role per account: forty accounts called ferris.
    let same: Vec<_> = (0..40)
        .map(|i| view(ask(&e, &ferris_no(i), "ops", Some(60), None, t(0))))
        .collect();
    let later = view(ask(&e, &ferris, "ops", Some(90), None, t(0)));
    assert!(same.iter().all(|v| v.state == RequestState::Active));
    assert_eq!(e.engine.expire_due(t(59)).unwrap(), 0);
    assert!(same.iter().all(|v| file(&e, v).exists()));

    assert_eq!(e.engine.expire_due(t(60)).unwrap(), 40);
    for v in &same {
        assert!(!file(&e, v).exists(), "{} still has its drop-in", v.id);
        let after = view(e.engine.handle(&root, Request::Show { id: id(v) }, t(61)));
        assert_eq!(after.state, RequestState::Expired);
        assert!(
            after.message.starts_with("window ended at"),
            "{}",
            after.message
        );
    }
    assert!(file(&e, &later).exists(), "a later window is not touched");
    assert_eq!(e.engine.next_deadline(), Some(t(90).as_millisecond()));
    let expired = events(&e).iter().filter(|ev| *ev == "expired").count();
    assert_eq!(expired, 40);

    assert_eq!(e.engine.expire_due(t(90)).unwrap(), 1);
    assert!(!file(&e, &later).exists());
    assert!(e.engine.next_deadline().is_none());
    let st = e.engine.lock();
    assert_eq!(audit::verify(st.store.conn()).unwrap().first_bad, None);
}

#[test]
fn one_window_that_cannot_end_does_not_hold_up_the_others() {
    let e = env();
    let root = peer("root", 0);
    let grants: Vec<_> = (0..5)
        .map(|i| view(ask(&e, &ferris_no(i), "ops", Some(60), None, t(0))))
        .collect();
    let stuck = &grants[2];
    // The store refuses to change that one row (as a damaged row would).
    e.engine
        .lock()
        .store
        .conn()
        .execute_batch(&format!(
            "CREATE TEMP TRIGGER stuck BEFORE UPDATE ON requests WHEN OLD.id = '{}' \
             BEGIN SELECT RAISE(ABORT, 'stuck row'); END;",
            stuck.id
        ))
        .unwrap();
    assert!(
        e.engine.expire_due(t(60)).is_err(),
        "the failure is reported"
    );
    for v in grants.iter().filter(|v| v.id != stuck.id) {
        assert!(!file(&e, v).exists(), "{} was held up", v.id);
        let after = view(e.engine.handle(&root, Request::Show { id: id(v) }, t(60)));
        assert_eq!(after.state, RequestState::Expired);
    }
    // Taken away on the host although its end could not be recorded: the
    // rights do not wait for the store.
    assert!(!file(&e, stuck).exists());
    let stored = crate::store::requests::get(e.engine.lock().store.conn(), &id(stuck))
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, RequestState::Active);
    // Still due: the timer tries again, and succeeds once the row can change.
    assert_eq!(e.engine.next_deadline(), Some(t(60).as_millisecond()));
    e.engine
        .lock()
        .store
        .conn()
        .execute_batch("DROP TRIGGER stuck;")
        .unwrap();
    assert_eq!(e.engine.expire_due(t(61)).unwrap(), 1);
    assert!(!file(&e, stuck).exists());
    let st = e.engine.lock();
    assert_eq!(audit::verify(st.store.conn()).unwrap().first_bad, None);
}

#[test]
fn a_revocation_that_cannot_be_recorded_takes_the_rule_away_and_says_so() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let root = peer("root", 0);
    let ended = e.dir.path().join("ended");
    e.engine.remember_ends_in(&ended).unwrap();
    let v = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    e.engine
        .lock()
        .store
        .conn()
        .execute_batch(&format!(
            "CREATE TEMP TRIGGER stuck BEFORE UPDATE ON requests WHEN OLD.id = '{}' \
             BEGIN SELECT RAISE(ABORT, 'no room'); END;",
            v.id
        ))
        .unwrap();
    let (code, message) = err(e.engine.handle(&root, Request::Revoke { id: id(&v) }, t(1)));
    assert_eq!(code, ErrorCode::Internal);
    assert!(
        message.contains("taken away on this host") && message.contains("retries"),
        "{message}"
    );
    assert!(!file(&e, &v).exists());
    assert!(ended.join(&v.id).exists());
    // Neither reconciliation nor a restart (which forgets what the engine
    // held in memory) gives it back while the end waits.
    e.engine.lock().unrecorded.clear();
    e.engine.remember_ends_in(&ended).unwrap();
    let report = e.engine.reconcile(t(2)).unwrap();
    assert!(!file(&e, &v).exists(), "{report:?}");
    assert!(!events(&e).contains(&"revoked".to_owned()));
    // The retry is due within seconds, and lands once the row can change.
    assert!(e.engine.next_deadline().unwrap() <= t(5).as_millisecond());
    e.engine
        .lock()
        .store
        .conn()
        .execute_batch("DROP TRIGGER stuck;")
        .unwrap();
    assert_eq!(e.engine.expire_due(t(5)).unwrap(), 1);
    let after = view(e.engine.handle(&root, Request::Show { id: id(&v) }, t(5)));
    assert_eq!(after.state, RequestState::Revoked);
    assert_eq!(
        events(&e).iter().filter(|e| *e == "revoked").count(),
        1,
        "{:?}",
        events(&e)
    );
    assert!(!file(&e, &v).exists());
    assert!(!ended.join(&v.id).exists());
}
