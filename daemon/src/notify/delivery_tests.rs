//! Webhook delivery against receivers on 127.0.0.1.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::config::{WebhookFormat, WebhookSettings};
use super::testutil::{closed_port, event, Answer, Logs, Receiver};
use super::*;
use elevated_testkit::poll::eventually;

const WAIT: Duration = Duration::from_secs(5);

fn hook(url: String, format: WebhookFormat) -> WebhookSettings {
    WebhookSettings {
        url,
        format,
        events: EventKind::ALL.to_vec(),
        timeout: Duration::from_secs(2),
        headers: BTreeMap::new(),
    }
}

fn settings(webhook: Vec<WebhookSettings>) -> NotifySettings {
    NotifySettings {
        queue: 100,
        retries: 3,
        backoff: Duration::from_millis(50),
        webhook,
        command: Vec::new(),
    }
}

#[test]
fn notifier_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Notifier>();
}

#[test]
fn disabled_and_empty_notifiers_do_nothing() {
    let n = Notifier::disabled();
    assert!(n.is_disabled());
    n.send(&event(EventKind::Approved));
    assert_eq!(n.dropped(), 0);
    let n = Notifier::new(&NotifySettings::default()).unwrap();
    assert!(n.is_disabled());
    assert!(n.shutdown());
}

#[test]
fn invalid_settings_are_refused() {
    let mut s = settings(vec![hook("ftp://x".into(), WebhookFormat::Json)]);
    s.queue = 0;
    let e = Notifier::new(&s).unwrap_err();
    assert!(matches!(&e, NotifyError::Invalid(v) if v.len() == 2), "{e}");
}

#[test]
fn json_webhook_posts_the_event_with_headers() {
    let r = Receiver::start(Answer::Statuses(vec![200]));
    let mut h = hook(r.url("/hooks/elevated?x=1"), WebhookFormat::Json);
    h.headers
        .insert("Authorization".into(), "Bearer t0ken".into());
    let n = Notifier::new(&settings(vec![h])).unwrap();
    n.send(&event(EventKind::RequestCreated));
    let got = r.next(WAIT).expect("no request");
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/hooks/elevated?x=1");
    assert_eq!(got.header("authorization"), Some("Bearer t0ken"));
    assert!(got
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert!(got.header("user-agent").unwrap().starts_with("elevated/"));
    let v = got.json();
    assert_eq!(v["event"], "request_created");
    assert_eq!(v["user"], "alice");
    assert_eq!(
        v["approval_text"],
        event(EventKind::RequestCreated).approval_text.unwrap()
    );
    assert!(n.shutdown());
}

#[test]
fn slack_and_teams_webhooks_get_their_formats() {
    let slack = Receiver::start(Answer::Statuses(vec![200]));
    let teams = Receiver::start(Answer::Statuses(vec![200]));
    let n = Notifier::new(&settings(vec![
        hook(slack.url("/s"), WebhookFormat::Slack),
        hook(teams.url("/t"), WebhookFormat::Teams),
    ]))
    .unwrap();
    n.send(&event(EventKind::RequestCreated));
    let s = slack.next(WAIT).expect("slack got nothing").json();
    assert!(s["text"]
        .as_str()
        .unwrap()
        .contains("alice requests db-admin"));
    assert!(s["blocks"].is_array());
    assert!(!s.to_string().contains("<!channel>"));
    let t = teams.next(WAIT).expect("teams got nothing").json();
    assert_eq!(t["attachments"][0]["content"]["type"], "AdaptiveCard");
    assert!(!t.to_string().contains("<!channel>"));
}

#[test]
fn each_destination_gets_only_its_events() {
    let pager = Receiver::start(Answer::Statuses(vec![200]));
    let all = Receiver::start(Answer::Statuses(vec![200]));
    let mut only_bg = hook(pager.url("/p"), WebhookFormat::Json);
    only_bg.events = vec![EventKind::BreakGlass];
    let n = Notifier::new(&settings(vec![
        only_bg,
        hook(all.url("/a"), WebhookFormat::Json),
    ]))
    .unwrap();
    n.send(&event(EventKind::RequestCreated));
    n.send(&event(EventKind::BreakGlass));
    n.send(&event(EventKind::ExpiryWarning));
    assert!(n.shutdown());
    let got: Vec<_> = std::iter::from_fn(|| pager.next(Duration::from_millis(200)))
        .map(|r| r.json()["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ["break_glass"]);
    let got: Vec<_> = std::iter::from_fn(|| all.next(Duration::from_millis(200)))
        .map(|r| r.json()["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ["request_created", "break_glass", "expiry_warning"]);
}

#[test]
fn server_errors_are_retried_with_backoff_until_delivered() {
    let logs = Logs::default();
    let _g = logs.capture();
    let r = Receiver::start(Answer::Statuses(vec![500, 500, 200]));
    let n = Notifier::new(&settings(vec![hook(r.url("/h"), WebhookFormat::Json)])).unwrap();
    let start = Instant::now();
    n.send(&event(EventKind::Approved));
    for _ in 0..3 {
        r.next(WAIT).expect("attempt missing");
    }
    // 50 ms, then 100 ms between attempts.
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    assert!(
        logs.wait_for("delivered (attempt 3)", WAIT),
        "{}",
        logs.text()
    );
    assert_eq!(r.hits(), 3);
    let text = logs.text();
    assert!(
        text.contains("attempt 1 of 4 failed, retrying in 50ms: HTTP 500"),
        "{text}"
    );
    assert!(
        text.contains("attempt 2 of 4 failed, retrying in 100ms"),
        "{text}"
    );
    assert!(text.contains("webhook 1 (http://127.0.0.1:"), "{text}");
    assert!(text.contains("k3f9x2ma"), "{text}");
}

#[test]
fn too_many_requests_is_retried_and_other_client_errors_are_final() {
    let logs = Logs::default();
    let _g = logs.capture();
    let busy = Receiver::start(Answer::Statuses(vec![429, 200]));
    let refusing = Receiver::start(Answer::Statuses(vec![404]));
    let n = Notifier::new(&settings(vec![
        hook(busy.url("/b"), WebhookFormat::Json),
        hook(refusing.url("/r"), WebhookFormat::Json),
    ]))
    .unwrap();
    n.send(&event(EventKind::Denied));
    assert!(n.shutdown());
    assert_eq!(busy.hits(), 2);
    assert_eq!(refusing.hits(), 1);
    let text = logs.text();
    assert!(
        text.contains("will not be retried: HTTP 404: try later"),
        "{text}"
    );
    assert!(text.contains("webhook 2 (http://127.0.0.1:"), "{text}");
}

#[test]
fn persistent_failures_give_up_after_the_retries() {
    let logs = Logs::default();
    let _g = logs.capture();
    let r = Receiver::start(Answer::Statuses(vec![503]));
    let mut s = settings(vec![
        hook(r.url("/h"), WebhookFormat::Json),
        hook(
            format!("http://127.0.0.1:{}/x", closed_port()),
            WebhookFormat::Json,
        ),
    ]);
    s.retries = 2;
    let n = Notifier::new(&s).unwrap();
    n.send(&event(EventKind::Expired));
    assert!(
        logs.wait_for("failed after 3 attempt(s), giving up: HTTP 503", WAIT),
        "{}",
        logs.text()
    );
    assert!(
        logs.wait_for(
            "failed after 3 attempt(s), giving up: connection failed",
            WAIT
        ),
        "{}",
        logs.text()
    );
    assert_eq!(r.hits(), 3);
}

#[test]
fn a_hung_endpoint_blocks_neither_send_nor_other_destinations() {
    let hung = Receiver::start(Answer::Hang);
    let ok = Receiver::start(Answer::Statuses(vec![200]));
    let mut s = settings(vec![
        hook(hung.url("/hang"), WebhookFormat::Slack),
        hook(ok.url("/ok"), WebhookFormat::Json),
    ]);
    s.queue = 1000;
    let n = Notifier::new(&s).unwrap();
    n.send(&event(EventKind::BreakGlass));
    // The hung endpoint now holds its worker.
    assert!(hung.next(WAIT).is_some());
    let start = Instant::now();
    for _ in 0..100 {
        n.send(&event(EventKind::Approved));
    }
    let took = start.elapsed();
    assert!(took < Duration::from_millis(50), "100 sends took {took:?}");
    let first = ok
        .next(Duration::from_secs(1))
        .expect("other destination starved");
    assert_eq!(first.json()["event"], "break_glass");
    assert!(ok.next(Duration::from_secs(1)).is_some());
    assert_eq!(n.dropped(), 0);
    // Dropping does not wait for the hung worker.
    let start = Instant::now();
    drop(n);
    assert!(start.elapsed() < Duration::from_millis(100));
}

#[test]
fn a_full_queue_drops_and_logs_instead_of_blocking() {
    let logs = Logs::default();
    let _g = logs.capture();
    let hung = Receiver::start(Answer::Hang);
    let mut s = settings(vec![hook(hung.url("/hang"), WebhookFormat::Json)]);
    s.queue = 2;
    let n = Notifier::new(&s).unwrap();
    n.send(&event(EventKind::RequestCreated));
    assert!(hung.next(WAIT).is_some());
    let start = Instant::now();
    for _ in 0..10 {
        n.send(&event(EventKind::RequestCreated));
    }
    assert!(start.elapsed() < Duration::from_millis(50));
    assert_eq!(n.dropped(), 8);
    let text = logs.text();
    assert_eq!(
        text.matches("notification dropped: the queue of 2 events is full")
            .count(),
        8,
        "{text}"
    );
    assert!(text.contains("8 dropped so far"), "{text}");
    assert!(text.contains("id=k3f9x2ma"), "{text}");
}

#[test]
fn shutdown_delivers_what_is_queued_and_is_bounded() {
    let r = Receiver::start(Answer::Statuses(vec![200]));
    let n = Notifier::new(&settings(vec![hook(r.url("/h"), WebhookFormat::Json)])).unwrap();
    for _ in 0..5 {
        n.send(&event(EventKind::Approved));
    }
    assert!(n.shutdown_within(Duration::from_secs(5)));
    assert_eq!(r.hits(), 5);

    let logs = Logs::default();
    let _g = logs.capture();
    let hung = Receiver::start(Answer::Hang);
    let n = Notifier::new(&settings(vec![hook(hung.url("/h"), WebhookFormat::Json)])).unwrap();
    for _ in 0..3 {
        n.send(&event(EventKind::Approved));
    }
    assert!(hung.next(WAIT).is_some());
    let start = Instant::now();
    assert!(!n.shutdown_within(Duration::from_millis(200)));
    let took = start.elapsed();
    assert!(took < Duration::from_millis(500), "{took:?}");
    // The worker ends once its attempt times out, reporting what it leaves.
    assert!(
        logs.wait_for("shutting down with 2 undelivered event(s)", WAIT),
        "{}",
        logs.text()
    );
    assert!(eventually(WAIT, || logs.text().contains("timed out")));
}
