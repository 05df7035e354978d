//! Answers over a long history stay within one frame and keep the newest
//! entries.

use elevated_proto::frame::encode;
use elevated_proto::{Request, Response, ServerMessage, MAX_FRAME, PROTOCOL_VERSION};

use super::tests::{ask, env, id, peer, t, view};

fn frame_len(r: &Response) -> usize {
    encode(&ServerMessage {
        version: PROTOCOL_VERSION,
        response: r.clone(),
    })
    .map_or(usize::MAX, |f| f.len() - 4)
}

#[test]
fn lists_and_audits_of_a_long_history_fit_in_one_answer() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let root = peer("root", 0);
    let reason = "r".repeat(400);
    let mut newest = String::new();
    for i in 0..300 {
        let v = view(ask(&e, &ferris, "gated", Some(60), Some(&reason), t(i)));
        e.engine
            .handle(&ferris, Request::Cancel { id: id(&v) }, t(i));
        newest = v.id;
    }
    let all = Request::List {
        pending: false,
        all: true,
        unreviewed: false,
    };
    let r = e.engine.handle(&root, all, t(400));
    let Response::Requests { requests } = &r else {
        panic!("{r:?}");
    };
    assert!(
        requests.len() > 10 && requests.len() < 300,
        "{}",
        requests.len()
    );
    assert_eq!(requests[0].id, newest);
    assert!(frame_len(&r) <= MAX_FRAME + 64, "{}", frame_len(&r));

    let audit = Request::Audit {
        since: None,
        limit: None,
    };
    let r = e.engine.handle(&root, audit, t(400));
    let Response::Audit { rows } = &r else {
        panic!("{r:?}");
    };
    assert!(rows.len() > 10 && rows.len() < 900, "{}", rows.len());
    assert!(rows.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    assert_eq!(
        rows.last().unwrap().request.as_deref(),
        Some(newest.as_str())
    );
    assert!(frame_len(&r) <= MAX_FRAME + 64, "{}", frame_len(&r));
}
