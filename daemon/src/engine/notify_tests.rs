//! What notifications say about a request: its approvals so far, and the
//! engine's time rather than the wall clock's.

use std::sync::Arc;
use std::time::Duration;

use super::testkit::{approve, ask, env, peer, peer_in, t, view, Env};
use crate::notify::config::{WebhookFormat, WebhookSettings};
use crate::notify::testutil::{Answer, Receiver};
use crate::notify::{EventKind, Notifier, NotifySettings};

const WAIT: Duration = Duration::from_secs(10);

/// Sends every event of `e`'s engine, as JSON, to a receiver.
fn listened(e: &Env) -> Receiver {
    let r = Receiver::start(Answer::Statuses(vec![200]));
    let settings = NotifySettings {
        webhook: vec![WebhookSettings {
            url: r.url("/hook"),
            format: WebhookFormat::Json,
            events: EventKind::ALL.to_vec(),
            timeout: Duration::from_secs(2),
            headers: Default::default(),
        }],
        ..NotifySettings::default()
    };
    *e.engine.notifier.lock().unwrap() = Arc::new(Notifier::new(&settings).unwrap());
    r
}

fn next(r: &Receiver) -> serde_json::Value {
    r.next(WAIT).expect("no notification").json()
}

#[test]
fn an_approval_notification_counts_the_approvals_given() {
    let e = env();
    let hook = listened(&e);
    let v = view(ask(&e, &peer("ferris", 4242), "two", Some(600), None, t(0)));
    let created = next(&hook);
    assert_eq!(created["event"], "request_created");
    assert_eq!(created["approvals_given"], 0);
    assert_eq!(created["approvals_needed"], 2);
    assert_eq!(created["at"], t(0).to_string());

    let _ = view(approve(&e, &peer("boss", 100), &v, t(10)));
    let _ = view(approve(&e, &peer_in("carol", 101, &["leads"]), &v, t(20)));
    let approved = next(&hook);
    assert_eq!(approved["event"], "approved");
    assert_eq!(approved["approvals_given"], 2, "{approved}");
    assert_eq!(approved["at"], t(20).to_string());

    // Its end still says how it was approved.
    assert_eq!(e.engine.expire_due(t(620)).unwrap(), 1);
    let mut ended = next(&hook);
    if ended["event"] == "expiry_warning" {
        ended = next(&hook);
    }
    assert_eq!(ended["event"], "expired");
    assert_eq!(ended["approvals_given"], 2, "{ended}");
}
