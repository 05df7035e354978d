//! What is the daemon's fault is reported as such: an `internal` error,
//! not a refusal the caller would take for a decision about them.

use elevated_proto::ErrorCode;

use super::testkit::{ask, env, err, extend, id, peer, t, view};

#[test]
fn a_corrupt_stored_name_is_an_internal_error_not_a_refusal() {
    let e = env();
    let ferris = peer("ferris", 4242);
    let v = view(ask(&e, &ferris, "ops", Some(600), None, t(0)));
    // Written by hand (or a bug): no longer a name sudoers accepts.
    e.engine
        .lock()
        .store
        .conn()
        .execute(
            "UPDATE requests SET user = 'not a name' WHERE id = ?1",
            [id(&v).as_str()],
        )
        .unwrap();
    let (code, msg) = err(extend(&e, &ferris, &v, 60, None, 10));
    assert_eq!(code, ErrorCode::Internal, "{msg}");
    assert!(msg.contains("stored user name"), "{msg}");
}
