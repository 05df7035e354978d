//! Exit statuses, and the failures that lead to them.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | refused by policy or an approver, or the daemon failed |
//! | 2 | bad usage or input |
//! | 3 | still pending when the wait ended, or nobody decided in time |
//! | 69 | the daemon could not be reached |

use elevated_proto::{ClientError, ErrorCode, RequestState};

/// Done.
pub const OK: u8 = 0;
/// Refused by policy or an approver; also daemon failures and garbled
/// answers.
pub const REFUSED: u8 = 1;
/// Bad usage or input.
pub const USAGE: u8 = 2;
/// Still pending, or timed out waiting for a decision.
pub const PENDING: u8 = 3;
/// The daemon could not be reached (`EX_UNAVAILABLE`).
pub const UNREACHABLE: u8 = 69;

/// The exit status for a daemon error code.
#[must_use]
pub fn for_error_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::BadRequest | ErrorCode::Version | ErrorCode::NotFound => USAGE,
        ErrorCode::Forbidden | ErrorCode::Limit | ErrorCode::Internal | ErrorCode::Conflict => {
            REFUSED
        }
    }
}

/// The JSON name of a daemon error code.
#[must_use]
pub fn error_code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadRequest => "bad_request",
        ErrorCode::Version => "version",
        ErrorCode::NotFound => "not_found",
        ErrorCode::Forbidden => "forbidden",
        ErrorCode::Limit => "limit",
        ErrorCode::Internal => "internal",
        ErrorCode::Conflict => "conflict",
    }
}

/// The exit status for the state a request ended up in after `request` (or
/// `run`) asked for it and waited as long as it was told to.
#[must_use]
pub fn for_outcome(state: RequestState) -> u8 {
    match state {
        RequestState::Active => OK,
        RequestState::Denied | RequestState::Cancelled | RequestState::Revoked => REFUSED,
        RequestState::Pending | RequestState::TimedOut | RequestState::Expired => PENDING,
    }
}

/// Something that ends `elevate` with a message and a non-zero status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit status.
    pub status: u8,
    /// A short machine-readable kind, the `code` of the JSON error object:
    /// a daemon [`ErrorCode`] name, or `usage`, `unreachable`, `protocol`,
    /// `no_role`, `exec`, `io`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure with the given status and code.
    pub fn new(status: u8, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// Bad usage or input found before or without the daemon.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, "usage", message)
    }

    /// The daemon answered something this client cannot use.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(REFUSED, "protocol", message)
    }

    /// The daemon answered with an error.
    pub fn daemon(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(for_error_code(code), error_code_name(code), message)
    }

    /// Talking to the daemon failed.
    #[must_use]
    pub fn client(err: &ClientError) -> Self {
        if err.is_unreachable() {
            return Self::new(UNREACHABLE, "unreachable", err.to_string());
        }
        match err {
            ClientError::Version { .. } => Self::new(USAGE, "version", err.to_string()),
            _ => Self::protocol(err.to_string()),
        }
    }

    /// The connection could not be set up, whatever the reason.
    #[must_use]
    pub fn connect(err: &ClientError) -> Self {
        Self::new(UNREACHABLE, "unreachable", err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elevated_proto::FrameError;
    use std::time::Duration;

    #[test]
    fn error_codes() {
        for (code, status, name) in [
            (ErrorCode::BadRequest, 2, "bad_request"),
            (ErrorCode::Version, 2, "version"),
            (ErrorCode::NotFound, 2, "not_found"),
            (ErrorCode::Forbidden, 1, "forbidden"),
            (ErrorCode::Limit, 1, "limit"),
            (ErrorCode::Internal, 1, "internal"),
            (ErrorCode::Conflict, 1, "conflict"),
        ] {
            assert_eq!(for_error_code(code), status, "{name}");
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, name, "JSON name of {code:?}");
            assert_eq!(error_code_name(code), name);
            let f = Failure::daemon(code, "m");
            assert_eq!((f.status, f.code), (status, name));
        }
    }

    #[test]
    fn outcomes() {
        use RequestState::*;
        assert_eq!(for_outcome(Active), 0);
        assert_eq!(for_outcome(Denied), 1);
        assert_eq!(for_outcome(Cancelled), 1);
        assert_eq!(for_outcome(Revoked), 1);
        assert_eq!(for_outcome(Pending), 3);
        assert_eq!(for_outcome(TimedOut), 3);
        assert_eq!(for_outcome(Expired), 3);
    }

    #[test]
    fn client_errors() {
        let unreachable = ClientError::Connect {
            path: "/nope".into(),
            source: std::io::ErrorKind::NotFound.into(),
        };
        assert_eq!(Failure::client(&unreachable).status, 69);
        assert_eq!(
            Failure::client(&ClientError::Timeout(Duration::from_secs(1))).status,
            69
        );
        assert_eq!(
            Failure::client(&ClientError::Frame(FrameError::Closed)).status,
            69
        );
        let garbled = Failure::client(&ClientError::Frame(FrameError::Json("x".into())));
        assert_eq!((garbled.status, garbled.code), (1, "protocol"));
        let version = Failure::client(&ClientError::Version { ours: 1, theirs: 2 });
        assert_eq!((version.status, version.code), (2, "version"));
        let io = ClientError::Frame(FrameError::Io(std::io::ErrorKind::Other.into()));
        assert_eq!(Failure::connect(&io).status, 69);
        assert_eq!(Failure::usage("x").status, 2);
    }
}
