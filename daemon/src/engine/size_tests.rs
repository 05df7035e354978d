//! Answers over a long history stay within one frame and keep the newest
//! entries.

use crate::audit::event::AuditEvent;
use elevated_proto::frame::encode;
use elevated_proto::{
    AuditQuery, ListFilter, Request, Response, ServerMessage, MAX_FRAME, PROTOCOL_VERSION,
};

use super::testkit::{ask, env, ferris_no, id, peer, t, view};

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
    let all = Request::List(ListFilter {
        pending: false,
        all: true,
        unreviewed: false,
    });
    let r = e.engine.handle(&root, all, t(400));
    let Response::Requests {
        requests,
        truncated,
    } = &r
    else {
        panic!("{r:?}");
    };
    assert!(truncated, "a cut listing says so");
    assert!(
        requests.len() > 10 && requests.len() < 300,
        "{}",
        requests.len()
    );
    assert_eq!(requests[0].id, newest);
    assert!(frame_len(&r) <= MAX_FRAME, "{}", frame_len(&r));

    let audit = Request::Audit(AuditQuery {
        since: None,
        limit: None,
    });
    let r = e.engine.handle(&root, audit, t(400));
    let Response::Audit { rows, truncated } = &r else {
        panic!("{r:?}");
    };
    assert!(truncated, "a cut audit says so");
    assert!(rows.len() > 10 && rows.len() < 900, "{}", rows.len());
    assert!(rows.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    assert_eq!(
        rows.last().unwrap().request.as_deref(),
        Some(newest.as_str())
    );
    assert!(frame_len(&r) <= MAX_FRAME, "{}", frame_len(&r));
}

#[test]
fn whole_answers_say_nothing_was_left_out() {
    let e = env();
    let root = peer("root", 0);
    for i in 0..3 {
        view(ask(&e, &ferris_no(i), "ops", Some(60), None, t(i as i64)));
    }
    let all = Request::List(ListFilter {
        pending: false,
        all: true,
        unreviewed: false,
    });
    match e.engine.handle(&root, all, t(10)) {
        Response::Requests {
            requests,
            truncated,
        } => assert_eq!((requests.len(), truncated), (3, false)),
        other => panic!("{other:?}"),
    }
    // A limit the caller chose is not a truncation.
    let audit = Request::Audit(AuditQuery {
        since: None,
        limit: Some(2),
    });
    match e.engine.handle(&root, audit, t(10)) {
        Response::Audit { rows, truncated } => assert_eq!((rows.len(), truncated), (2, false)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_listing_cut_at_its_row_cap_says_so() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let root = peer("root", 0);
    // Small rows: the cap of 500, not the frame, ends the listing.
    for i in 0..501 {
        let v = view(ask(&e, &ferris, "gated", Some(60), None, t(i)));
        e.engine
            .handle(&ferris, Request::Cancel { id: id(&v) }, t(i));
    }
    let all = Request::List(ListFilter {
        pending: false,
        all: true,
        unreviewed: false,
    });
    match e.engine.handle(&root, all, t(600)) {
        Response::Requests {
            requests,
            truncated,
        } => {
            assert!(truncated);
            assert!(requests.len() <= 500, "{}", requests.len());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_audit_chain_pages_through_a_long_log_one_frame_at_a_time() {
    let e = env();
    let root = peer("root", 0);
    let rows = 5000;
    e.engine
        .lock()
        .store
        .tx(|tx| {
            for i in 0..rows {
                crate::store::audit::append(
                    tx,
                    i,
                    AuditEvent::Requested,
                    "ferris",
                    None,
                    &serde_json::json!({}),
                )?;
            }
            Ok(())
        })
        .unwrap();
    let (mut after, mut pages, mut seen) = (0u64, 0, Vec::new());
    loop {
        let r = e.engine.handle(&root, Request::AuditChain { after }, t(10));
        assert!(frame_len(&r) <= MAX_FRAME, "{}", frame_len(&r));
        let Response::AuditChain { links, more } = r else {
            panic!("{r:?}");
        };
        pages += 1;
        after = links.last().map_or(after, |l| l.seq);
        seen.extend(links);
        if !more {
            break;
        }
    }
    assert!(pages > 2, "{pages} pages");
    assert_eq!(seen.len(), usize::try_from(rows).unwrap());
    assert!(seen.iter().enumerate().all(|(i, l)| l.seq == i as u64 + 1));
    // The hashes are root's: another user is refused.
    let r = e.engine.handle(
        &peer("ferris", 4242),
        Request::AuditChain { after: 0 },
        t(10),
    );
    assert!(
        matches!(
            &r,
            Response::Error {
                code: elevated_proto::ErrorCode::Forbidden,
                ..
            }
        ),
        "{r:?}"
    );
}
