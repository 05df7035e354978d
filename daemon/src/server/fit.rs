//! Answers that fit in one frame. A list of requests or audit rows can
//! outgrow the 64 KiB frame long before it reaches its row limit (a few
//! hundred requests on a busy host); such an answer carries the newest
//! entries that fit, the same way it already stops at its row limit,
//! instead of failing. `elevate audit --since` reaches older rows.
#![forbid(unsafe_code)]

use elevated_proto::frame::encode;
use elevated_proto::{FrameError, Response, PROTOCOL_VERSION};
use serde::Serialize;

use crate::budget::Budget;

/// Serialises like [`ServerMessage`] without owning the response.
#[derive(Serialize)]
struct Outgoing<'a> {
    version: u32,
    response: &'a Response,
}

fn frame(response: &Response) -> Result<Vec<u8>, FrameError> {
    encode(&Outgoing {
        version: PROTOCOL_VERSION,
        response,
    })
}

/// The frame for `response`; a list that does not fit whole is shortened
/// to the newest entries that fit.
pub fn encode_fitting(response: &Response) -> Result<Vec<u8>, FrameError> {
    // Compact JSON joins list entries with one comma, so the size of the
    // answer with `n` entries is that of the empty answer plus the entries'
    // own sizes and the commas: each entry is measured once, without
    // allocating, and only what fits is encoded. `Requests` are newest
    // first: keep a prefix. Audit rows are oldest first: keep a suffix.
    // The empty answer is measured with its `truncated` flag set, which a
    // shortened answer carries.
    let (empty, total) = match response {
        Response::Requests { requests, .. } => (
            Response::Requests {
                requests: vec![],
                truncated: true,
            },
            requests.len(),
        ),
        Response::Audit { rows, .. } => (
            Response::Audit {
                rows: vec![],
                truncated: true,
            },
            rows.len(),
        ),
        _ => return frame(response),
    };
    let mut budget = Budget::around(frame(&empty)?.len() - 4);
    let keep = match response {
        Response::Requests { requests, .. } => {
            requests.iter().take_while(|r| budget.take(r)).count()
        }
        Response::Audit { rows, .. } => rows.iter().rev().take_while(|r| budget.take(r)).count(),
        _ => total,
    };
    if keep == total {
        return frame(response);
    }
    frame(&match response {
        Response::Requests { requests, .. } => Response::Requests {
            requests: requests[..keep].to_vec(),
            truncated: true,
        },
        Response::Audit { rows, .. } => Response::Audit {
            rows: rows[rows.len() - keep..].to_vec(),
            truncated: true,
        },
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use elevated_proto::{AuditEntry, RequestState, RequestView};
    use elevated_proto::{ServerMessage, MAX_FRAME};

    fn request(n: usize) -> RequestView {
        let mut v: RequestView = serde_json::from_value(serde_json::json!({
            "id": format!("r{n:07}"), "state": "pending", "role": "db-admin",
            "user": "alice", "uid": 1000, "host": "db1", "duration_secs": 1800,
            "requested_at": "2026-01-01T00:00:00Z", "message": "waiting for approval",
            "approvals_needed": 1, "approvals_given": 0
        }))
        .unwrap();
        v.reason = Some("x".repeat(300));
        v.state = RequestState::Pending;
        v
    }

    fn row(n: usize) -> AuditEntry {
        AuditEntry {
            seq: n as u64,
            at: "2026-01-01T00:00:00Z".into(),
            event: "requested".into(),
            actor: "alice".into(),
            request: Some(format!("r{n:07}")),
            detail: serde_json::json!({"reason": "y".repeat(300)}),
            hash: "0".repeat(64),
        }
    }

    fn decode(frame: &[u8]) -> Response {
        assert!(frame.len() - 4 <= MAX_FRAME);
        serde_json::from_slice::<ServerMessage>(&frame[4..])
            .unwrap()
            .response
    }

    #[test]
    fn small_answers_are_untouched() {
        let r = Response::Requests {
            requests: (0..3).map(request).collect(),
            truncated: false,
        };
        assert_eq!(decode(&encode_fitting(&r).unwrap()), r);
    }

    #[test]
    fn long_lists_keep_the_newest_requests_that_fit() {
        let all: Vec<RequestView> = (0..1000).map(request).collect();
        let r = Response::Requests {
            requests: all.clone(),
            truncated: false,
        };
        let Response::Requests {
            requests,
            truncated,
        } = decode(&encode_fitting(&r).unwrap())
        else {
            panic!("not a list");
        };
        assert!(truncated, "a shortened answer says so");
        assert!(
            requests.len() > 50 && requests.len() < 1000,
            "{}",
            requests.len()
        );
        assert_eq!(requests[..], all[..requests.len()]);
        // One more would not have fitted.
        let more = Response::Requests {
            requests: all[..=requests.len()].to_vec(),
            truncated: true,
        };
        assert!(encode(&more).is_err());
    }

    #[test]
    fn long_audits_keep_the_newest_rows_that_fit() {
        let all: Vec<AuditEntry> = (1..=1000).map(row).collect();
        let r = Response::Audit {
            rows: all.clone(),
            truncated: false,
        };
        let Response::Audit { rows, truncated } = decode(&encode_fitting(&r).unwrap()) else {
            panic!("not audit rows");
        };
        assert!(truncated, "a shortened answer says so");
        assert!(rows.len() > 50 && rows.len() < 1000, "{}", rows.len());
        assert_eq!(rows.last().unwrap().seq, 1000);
        assert_eq!(rows[..], all[1000 - rows.len()..]);
    }

    #[test]
    fn other_oversized_answers_still_fail() {
        let r = Response::Text {
            text: "z".repeat(MAX_FRAME + 1),
        };
        assert!(matches!(encode_fitting(&r), Err(FrameError::TooLarge(_))));
    }
}
