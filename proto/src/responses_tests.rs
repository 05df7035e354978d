use super::*;

#[test]
fn truncation_is_said_only_when_true() {
    let whole = Response::Requests {
        requests: vec![],
        truncated: false,
    };
    let text = serde_json::to_string(&whole).unwrap();
    assert!(!text.contains("truncated"), "{text}");
    let cut = Response::Audit {
        rows: vec![],
        truncated: true,
    };
    let text = serde_json::to_string(&cut).unwrap();
    assert!(text.contains("\"truncated\":true"), "{text}");
    // An older daemon's answer, without the field, reads as whole.
    let old: Response = serde_json::from_str(r#"{"type":"requests","requests":[]}"#).unwrap();
    assert_eq!(old, whole);
}

#[test]
fn audit_chain_json_shape() {
    let page = Response::AuditChain {
        links: vec![AuditLink {
            seq: 42,
            hash: "5f".repeat(32),
        }],
        more: true,
    };
    let text = serde_json::to_string(&page).unwrap();
    assert!(
        text.starts_with(r#"{"type":"audit_chain","links":[{"seq":42,"hash":"5f5f"#),
        "{text}"
    );
    assert!(text.ends_with(r#""more":true}"#), "{text}");
}

#[test]
fn kind_is_the_type_on_the_wire() {
    let text = |t: &str| Response::Text { text: t.into() };
    let every = [
        Response::Pong {
            daemon_version: "1".into(),
            host: "h".into(),
        },
        Response::Roles {
            host: "h".into(),
            roles: vec![],
        },
        Response::Prompt {
            style: PromptStyle::Secret,
            text: "p".into(),
        },
        Response::Login {
            verdict: LoginVerdict::Deny,
            message: "m".into(),
            request: None,
        },
        text("t"),
        Response::Requests {
            requests: vec![],
            truncated: false,
        },
        Response::Audit {
            rows: vec![],
            truncated: false,
        },
        Response::AuditVerify {
            ok: true,
            rows: 0,
            first_bad: None,
            message: "m".into(),
        },
        Response::AuditChain {
            links: vec![],
            more: false,
        },
        Response::Error {
            code: ErrorCode::Internal,
            message: "m".into(),
        },
    ];
    for r in every {
        let wire = serde_json::to_value(&r).unwrap();
        assert_eq!(wire["type"], r.kind(), "{r:?}");
    }
    // `request` carries a view; its kind is spelled the same way.
    let view: Response = serde_json::from_str(
        r#"{"type":"request","request":{"id":"k3f9x2ma","state":"pending","role":"r","user":"u","uid":1,"host":"h","duration_secs":1,"requested_at":"t","message":"m","approvals_needed":0}}"#,
    )
    .unwrap();
    assert_eq!(view.kind(), "request");
}
