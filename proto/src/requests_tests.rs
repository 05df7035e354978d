use super::*;
use crate::PROTOCOL_VERSION;

#[test]
fn request_json_shape() {
    let m = ClientMessage {
        version: PROTOCOL_VERSION,
        request: Request::Request(NewRequest {
            role: RoleName::parse("db-admin").unwrap(),
            duration_secs: Some(1800),
            command: None,
            reason: Some("x".into()),
            ticket: None,
        }),
    };
    let s = serde_json::to_string(&m).unwrap();
    assert_eq!(
        s,
        r#"{"version":1,"request":{"op":"request","role":"db-admin","duration_secs":1800,"reason":"x"}}"#
    );
    let back: ClientMessage = serde_json::from_str(&s).unwrap();
    assert_eq!(back, m);
}

#[test]
fn refuses_unknown_fields_and_bad_names() {
    let bad = r#"{"version":1,"request":{"op":"status","user":"root"}}"#;
    assert!(serde_json::from_str::<ClientMessage>(bad).is_err());
    let bad = r#"{"version":1,"request":{"op":"request","role":"ALL"}}"#;
    assert!(serde_json::from_str::<ClientMessage>(bad).is_err());
    let bad = r#"{"version":1,"request":{"op":"show","id":"../x"}}"#;
    assert!(serde_json::from_str::<ClientMessage>(bad).is_err());
    // Beside the request, too.
    let bad = r#"{"version":1,"uid":0,"request":{"op":"status"}}"#;
    let err = serde_json::from_str::<ClientMessage>(bad).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
    // And in an operation that carries a named struct.
    let bad = r#"{"version":1,"request":{"op":"login","user":"a","service":"s","uid":0}}"#;
    let err = serde_json::from_str::<ClientMessage>(bad).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn audit_chain_request_shape() {
    let req: ClientMessage =
        serde_json::from_str(r#"{"version":1,"request":{"op":"audit_chain","after":41}}"#).unwrap();
    assert_eq!(req.request, Request::AuditChain { after: 41 });
}
