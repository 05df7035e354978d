//! The engine's time against stepped wall clocks, with both clocks given.

use elevated_proto::RequestState;

use super::super::testkit::{ask, env, events, file, peer, t, view};
use super::*;

fn boot(ms: i64) -> Boot {
    Boot {
        id: "b1".into(),
        ms,
    }
}

#[test]
fn steps_back_are_ignored_steps_forward_accepted() {
    let w = |s: i64| t(s).as_millisecond();
    // First reading: anchored, the wall clock as it is.
    let r = read(None, None, w(0), &boot(10_000));
    assert_eq!((r.now_ms, r.step_ms), (w(0), None));
    let a = r.anchor;
    // Ten seconds on both clocks.
    let r = read(Some(&a), None, w(10), &boot(20_000));
    assert_eq!((r.now_ms, r.step_ms), (w(10), None));
    // Within tolerance (a leap second): the wall clock.
    let r = read(Some(&a), None, w(9), &boot(20_000));
    assert_eq!((r.now_ms, r.step_ms), (w(9), None));
    // Stepped back an hour: the boot clock's count, reported once.
    let r = read(Some(&a), None, w(10 - 3600), &boot(20_000));
    assert_eq!(r.now_ms, w(10));
    assert_eq!(r.step_ms, Some(-3_600_000));
    assert_eq!(r.anchor, a, "the anchor stays where the clock was trusted");
    let again = read(Some(&a), r.step_ms, w(15 - 3600), &boot(25_000));
    assert_eq!((again.now_ms, again.step_ms), (w(15), None));
    // A second step back is a new step.
    let more = read(Some(&a), r.step_ms, w(15 - 7200), &boot(25_000));
    assert_eq!(more.step_ms, Some(-7_200_000));
    // Stepped forward: accepted, windows end sooner; measured from there.
    let r = read(Some(&a), None, w(3610), &boot(20_000));
    assert_eq!((r.now_ms, r.step_ms), (w(3610), Some(3_600_000)));
    assert_eq!(r.anchor.wall_ms, w(3610));
    // Another boot: the boot clock started again, only the wall clock counts.
    let other = Boot {
        id: "b2".into(),
        ms: 5,
    };
    let r = read(Some(&a), None, w(-100), &other);
    assert_eq!((r.now_ms, r.step_ms), (w(-100), None));
    assert_eq!(r.anchor.boot_id, "b2");
    // No boot id: nothing to compare with.
    let blind = Boot {
        id: String::new(),
        ms: 20_000,
    };
    assert_eq!(read(Some(&a), None, w(-3600), &blind).now_ms, w(-3600));
}

#[test]
fn a_window_ends_on_the_boot_clock_when_the_wall_clock_is_stepped_back() {
    let e = env();
    let alice = peer("ferris", 1000);
    let start = e.engine.now_at(t(0), &boot(1_000));
    assert_eq!(start, t(0));
    let v = view(ask(&e, &alice, "ops", Some(60), None, start));
    assert_eq!(v.state, RequestState::Active);
    assert!(file(&e, &v).exists());
    // Sixty-one seconds later on the boot clock, but the wall clock was
    // stepped back an hour: the window has ended all the same.
    let now = e.engine.now_at(t(61 - 3600), &boot(62_000));
    assert_eq!(now, t(61));
    assert_eq!(e.engine.expire_due(now).unwrap(), 1);
    assert!(!file(&e, &v).exists());
    let steps: Vec<_> = {
        let st = e.engine.lock();
        audit::list(st.store.conn(), None, 1000, None)
            .unwrap()
            .into_iter()
            .filter(|r| r.event == "clock_step")
            .collect()
    };
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert!(steps[0].detail.contains("-3600000"), "{}", steps[0].detail);
    // Read again at the same step: not reported twice.
    let _ = e.engine.now_at(t(62 - 3600), &boot(63_000));
    let n = events(&e).iter().filter(|ev| *ev == "clock_step").count();
    assert_eq!(n, 1);
}
