//! Frames exactly as the protocol spells them today: each one must still
//! parse, and serialise back to the same bytes, whatever the Rust types
//! behind it look like. A change here is a change of the wire format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elevated_proto::{ClientMessage, ServerMessage};

/// One request frame per operation: every optional field present, then
/// the shortest form.
const REQUESTS: &[&str] = &[
    r#"{"version":1,"request":{"op":"ping"}}"#,
    r#"{"version":1,"request":{"op":"roles"}}"#,
    r#"{"version":1,"request":{"op":"request","role":"db-admin","duration_secs":1800,"command":["/usr/bin/psql","-c","vacuum"],"reason":"INC-42 vacuum","ticket":"INC-42"}}"#,
    r#"{"version":1,"request":{"op":"request","role":"db-admin"}}"#,
    r#"{"version":1,"request":{"op":"status"}}"#,
    r#"{"version":1,"request":{"op":"list","pending":true,"all":false,"unreviewed":true}}"#,
    r#"{"version":1,"request":{"op":"show","id":"k3f9x2ma"}}"#,
    r#"{"version":1,"request":{"op":"wait","id":"k3f9x2ma","timeout_ms":20000}}"#,
    r#"{"version":1,"request":{"op":"cancel","id":"k3f9x2ma"}}"#,
    r#"{"version":1,"request":{"op":"revoke","id":"k3f9x2ma"}}"#,
    r#"{"version":1,"request":{"op":"audit","since":"2025-01-31T10:00:00Z","limit":50}}"#,
    r#"{"version":1,"request":{"op":"audit"}}"#,
    r#"{"version":1,"request":{"op":"audit_verify"}}"#,
    r#"{"version":1,"request":{"op":"audit_chain","after":41}}"#,
    r#"{"version":1,"request":{"op":"approve","id":"k3f9x2ma","comment":"ok","signature":"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"}}"#,
    r#"{"version":1,"request":{"op":"approve","id":"k3f9x2ma"}}"#,
    r#"{"version":1,"request":{"op":"deny","id":"k3f9x2ma","comment":"not now","signature":"sig"}}"#,
    r#"{"version":1,"request":{"op":"deny","id":"k3f9x2ma"}}"#,
    r#"{"version":1,"request":{"op":"decision_text","id":"k3f9x2ma","decision":"approve"}}"#,
    r#"{"version":1,"request":{"op":"decision_text","id":"k3f9x2ma","decision":"deny"}}"#,
    r#"{"version":1,"request":{"op":"extend","id":"k3f9x2ma","duration_secs":600,"reason":"still vacuuming"}}"#,
    r#"{"version":1,"request":{"op":"extend","id":"k3f9x2ma","duration_secs":600}}"#,
    r#"{"version":1,"request":{"op":"answer","text":"hunter2"}}"#,
    r#"{"version":1,"request":{"op":"answer"}}"#,
    r#"{"version":1,"request":{"op":"login","user":"alice","service":"sshd","rhost":"192.0.2.7","tty":"pts/0","request_role":"login","reason":"on call"}}"#,
    r#"{"version":1,"request":{"op":"login","user":"alice","service":"sshd"}}"#,
    r#"{"version":1,"request":{"op":"session","user":"alice","service":"sshd","open":true,"rhost":"192.0.2.7","tty":"pts/0"}}"#,
    r#"{"version":1,"request":{"op":"session","user":"alice","service":"sshd","open":false}}"#,
    r#"{"version":1,"request":{"op":"review","id":"k3f9x2ma","comment":"looked fine"}}"#,
    r#"{"version":1,"request":{"op":"review","id":"k3f9x2ma"}}"#,
];

/// A request view with every field present.
const FULL_VIEW: &str = r#"{"id":"k3f9x2ma","state":"active","role":"db-admin","user":"alice","uid":1000,"host":"db1","reason":"INC-42","ticket":"INC-42","duration_secs":1800,"requested_at":"2025-01-31T10:00:00Z","decided_at":"2025-01-31T10:01:00Z","starts_at":"2025-01-31T10:01:00Z","expires_at":"2025-01-31T10:31:00Z","ended_at":"2025-01-31T10:20:00Z","remaining_secs":600,"rule":"10-db.toml#0 (line 3)","message":"approved by bob","approvals_needed":1,"sudo":{"runas":"postgres","commands":["/usr/bin/psql"],"nopasswd":true},"approvals":[{"approver":"principal:carol@corp","verdict":"approve","comment":"ok","key":"SHA256:abc","at":"2025-01-31T10:01:00Z","round":1}],"approvals_given":1,"approvers":"1 of group dba-leads","pending_until":"2025-01-31T10:30:00Z","command":["/usr/bin/psql","-c","vacuum"],"break_glass":true,"reviewed":"bob at 2025-01-31T11:00:00Z","extension_secs":600}"#;

/// A request view with only what is always sent.
const SHORT_VIEW: &str = r#"{"id":"k3f9x2ma","state":"pending","role":"db-admin","user":"alice","uid":1000,"host":"db1","duration_secs":1800,"requested_at":"2025-01-31T10:00:00Z","message":"waiting","approvals_needed":2,"approvals_given":0,"break_glass":false}"#;

/// One answer frame per kind, around the views above.
fn responses() -> Vec<String> {
    let wrap = |r: String| format!(r#"{{"version":1,"response":{r}}}"#);
    [
        r#"{"type":"pong","daemon_version":"0.1.0","host":"db1"}"#.to_owned(),
        r#"{"type":"roles","host":"db1","roles":[{"role":"db-admin","description":"DBA","allowed":true,"approvals":1,"rule":"10-db.toml#0 (line 3)","reason":"allowed by rule","default_duration_secs":1800,"max_duration_secs":7200,"sudo":{"runas":"root","commands":["ALL"],"nopasswd":false},"groups":["dba"],"actions":["/usr/bin/systemctl restart nginx"],"action_duration_secs":300,"actions_only":true},{"role":"web","description":"","allowed":false,"approvals":0,"reason":"no rule","default_duration_secs":1800,"max_duration_secs":7200,"groups":[]}]}"#.to_owned(),
        format!(r#"{{"type":"request","request":{FULL_VIEW}}}"#),
        format!(r#"{{"type":"request","request":{SHORT_VIEW}}}"#),
        r#"{"type":"prompt","style":"secret","text":"Password: "}"#.to_owned(),
        r#"{"type":"prompt","style":"visible","text":"Code: "}"#.to_owned(),
        r#"{"type":"prompt","style":"info","text":"touch the key"}"#.to_owned(),
        r#"{"type":"prompt","style":"error","text":"wrong"}"#.to_owned(),
        format!(r#"{{"type":"login","verdict":"pending","message":"waiting","request":{SHORT_VIEW}}}"#),
        r#"{"type":"login","verdict":"allow","message":"exempt"}"#.to_owned(),
        r#"{"type":"login","verdict":"deny","message":"no grant"}"#.to_owned(),
        r#"{"type":"text","text":"elevated approve v1\nid k3f9x2ma\n"}"#.to_owned(),
        format!(r#"{{"type":"requests","requests":[{FULL_VIEW},{SHORT_VIEW}],"truncated":true}}"#),
        r#"{"type":"requests","requests":[]}"#.to_owned(),
        r#"{"type":"audit","rows":[{"seq":1,"at":"2025-01-31T10:00:00Z","event":"requested","actor":"alice","request":"k3f9x2ma","detail":{"role":"db-admin","secs":1800},"hash":"5f5f"},{"seq":2,"at":"2025-01-31T10:00:01Z","event":"daemon_started","actor":"daemon","detail":null,"hash":"6a6a"}],"truncated":true}"#.to_owned(),
        r#"{"type":"audit","rows":[]}"#.to_owned(),
        r#"{"type":"audit_verify","ok":false,"rows":12,"first_bad":7,"message":"row 7 does not verify"}"#.to_owned(),
        r#"{"type":"audit_verify","ok":true,"rows":12,"message":"12 rows verify"}"#.to_owned(),
        r#"{"type":"audit_chain","links":[{"seq":42,"hash":"5f5f"}],"more":true}"#.to_owned(),
        r#"{"type":"audit_chain","links":[]}"#.to_owned(),
        r#"{"type":"error","code":"bad_request","message":"m"}"#.to_owned(),
        r#"{"type":"error","code":"version","message":"m"}"#.to_owned(),
        r#"{"type":"error","code":"not_found","message":"m"}"#.to_owned(),
        r#"{"type":"error","code":"forbidden","message":"m"}"#.to_owned(),
        r#"{"type":"error","code":"limit","message":"m"}"#.to_owned(),
        r#"{"type":"error","code":"internal","message":"m"}"#.to_owned(),
        r#"{"type":"error","code":"conflict","message":"m"}"#.to_owned(),
    ]
    .into_iter()
    .map(wrap)
    .collect()
}

#[test]
fn request_frames_parse_and_serialise_identically() {
    for frame in REQUESTS {
        let msg: ClientMessage =
            serde_json::from_str(frame).unwrap_or_else(|e| panic!("{frame}: {e}"));
        assert_eq!(&serde_json::to_string(&msg).unwrap(), frame);
    }
}

#[test]
fn response_frames_parse_and_serialise_identically() {
    for frame in responses() {
        let msg: ServerMessage =
            serde_json::from_str(&frame).unwrap_or_else(|e| panic!("{frame}: {e}"));
        assert_eq!(serde_json::to_string(&msg).unwrap(), frame);
    }
}

#[test]
fn every_operation_and_answer_kind_is_covered() {
    let ops: std::collections::BTreeSet<String> = REQUESTS
        .iter()
        .map(|f| serde_json::from_str::<serde_json::Value>(f).unwrap()["request"]["op"].to_string())
        .collect();
    assert_eq!(ops.len(), 20, "{ops:?}");
    let kinds: std::collections::BTreeSet<String> = responses()
        .iter()
        .map(|f| {
            serde_json::from_str::<serde_json::Value>(f).unwrap()["response"]["type"].to_string()
        })
        .collect();
    assert_eq!(kinds.len(), 11, "{kinds:?}");
}

#[test]
fn fields_a_request_does_not_have_are_refused() {
    for frame in REQUESTS {
        // Into the request object, after its operation's own fields.
        let extra = frame.replacen(r#""op":"#, r#""uid":0,"op":"#, 1);
        assert!(
            serde_json::from_str::<ClientMessage>(&extra).is_err(),
            "accepted {extra}"
        );
    }
}
