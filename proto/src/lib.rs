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
//! both in `snake_case`. A request frame holds exactly `version` and
//! `request`, and a request exactly its operation's fields: anything else
//! (an identity claim, a typo) is refused with `bad_request`. Answers may
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
//! # Errors
//!
//! Failures are answered with [`Response::Error`], whose [`ErrorCode`] tells
//! the client how to react (and which exit status `elevate` uses); a policy
//! refusal is not an error but a request whose state is
//! [`RequestState::Denied`].
#![forbid(unsafe_code)]

pub mod client;
pub mod frame;
pub mod messages;
pub mod names;
pub mod when;

pub use client::{Client, ClientError, Timeouts};
pub use frame::{read_frame, write_frame, FrameError, MAX_FRAME};
pub use messages::*;
pub use names::{GrantId, GroupName, NameError, RoleName, UserName};

/// Version of the wire protocol spoken by this build. Bumped on any change
/// that an older peer would misread.
pub const PROTOCOL_VERSION: u32 = 1;

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/elevated/elevated.sock";
