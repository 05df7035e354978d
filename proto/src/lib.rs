//! Wire protocol shared by the `elevated` daemon, the `elevate` client and the
//! PAM module.
//!
//! # Transport
//!
//! A Unix stream socket (by default `/run/elevated/elevated.sock`). The daemon
//! learns who is calling from the kernel (`SO_PEERCRED`): no message carries
//! an identity that the daemon would believe.
//!
//! # Framing
//!
//! Every message is one frame: a 4-byte unsigned length in network byte order
//! (big-endian), followed by exactly that many bytes of UTF-8 JSON holding one
//! object. A frame's body is at most [`MAX_FRAME`] (64 KiB); a peer that
//! announces more is told so and disconnected without the body being read.
//! A connection may carry any number of request/response pairs, strictly
//! alternating: the client sends one [`ClientMessage`], the daemon answers with
//! one [`ServerMessage`].
//!
//! # Messages
//!
//! A request looks like
//!
//! ```json
//! {"version":1,"request":{"op":"request","role":"db-admin","duration_secs":1800,
//!  "reason":"INC-42 vacuum","ticket":"INC-42"}}
//! ```
//!
//! and its answer like
//!
//! ```json
//! {"version":1,"response":{"type":"request","request":{"id":"k3f9x2ma","state":"active", ...}}}
//! ```
//!
//! `op` selects the [`Request`] variant and `type` the [`Response`] variant,
//! both in `snake_case` ([`Response::kind`] names it). An operation's
//! fields sit beside `op` in the same object, whether the variant spells
//! them or carries a named struct ([`NewRequest`] above). A request frame
//! holds exactly `version` and `request`, and a request exactly its
//! operation's fields: anything else (an identity claim, a typo) is
//! refused with `bad_request`. Answers may
//! gain fields in later versions, which clients ignore. Times are RFC 3339 strings in UTC; durations are whole
//! seconds. A daemon that receives a `version` other than [`PROTOCOL_VERSION`]
//! answers with [`ErrorCode::Version`] and keeps the connection open.
//!
//! # Long answers
//!
//! A list ([`Response::Requests`], newest first) or an audit excerpt
//! ([`Response::Audit`], oldest first) that would not fit in one frame
//! carries the newest entries that fit and `"truncated":true`; the flag is
//! left out when nothing was left out (a limit the caller set is not a
//! truncation). [`Response::AuditChain`] pages instead: `"more":true`
//! says to ask again after its last link.
//!
//! # Limits
//!
//! The bounds both sides check live in [`limits`]: free text
//! ([`MAX_TEXT`], the daemon's default), audit rows per answer
//! ([`MAX_AUDIT_LIMIT`]), re-authentication prompts and answers
//! ([`MAX_PROMPTS`], [`MAX_ANSWER`]). A remote approver's signature is made
//! in the SSH namespace [`APPROVAL_NAMESPACE`].
//!
//! # Where the types are
//!
//! [`requests`] holds what a client sends, [`responses`] what the daemon
//! answers, and [`views`] what answers describe (requests and grants,
//! roles, audit rows); the crate root re-exports them all.
//!
//! # Errors
//!
//! Failures are answered with [`Response::Error`], whose [`ErrorCode`] tells
//! the client how to react (and which exit status `elevate` uses); a policy
//! refusal is not an error but a request whose state is
//! [`RequestState::Denied`].
#![forbid(unsafe_code)]

pub mod client;
pub mod frame;
pub mod limits;
pub mod names;
pub mod requests;
pub mod responses;
pub mod views;
pub mod when;

pub use client::{Client, ClientError, Timeouts};
pub use frame::{read_frame, write_frame, FrameError, MAX_FRAME};
pub use limits::{DEFAULT_AUDIT_LIMIT, MAX_ANSWER, MAX_AUDIT_LIMIT, MAX_PROMPTS, MAX_TEXT};
pub use names::{GrantId, GroupName, NameError, RoleName, UserName};
pub use requests::{
    AuditQuery, ClientMessage, DecideOn, DecisionTextQuery, ExtendBy, ListFilter, LoginQuery,
    NewRequest, Request, ReviewNote, SessionEvent, WaitFor,
};
pub use responses::{ErrorCode, LoginVerdict, PromptStyle, Response, ServerMessage};
pub use views::{
    ApprovalView, AuditEntry, AuditLink, RequestState, RequestView, RoleOffer, SudoView, Verdict,
};

/// Version of the wire protocol spoken by this build. Bumped on any change
/// that an older peer would misread.
pub const PROTOCOL_VERSION: u32 = 1;

/// The SSH signature namespace of approval and denial texts: a remote
/// approver signs with `ssh-keygen -Y sign -n elevated-approval`, and the
/// daemon verifies in this namespace only, so a signature made for
/// anything else (git, another program) never counts as a decision.
pub const APPROVAL_NAMESPACE: &str = "elevated-approval";

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/elevated/elevated.sock";
