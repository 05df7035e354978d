//! The one mapping from the engine's errors to the wire's error codes
//! and messages. What is the caller's to fix keeps its text; what is the
//! daemon's (the store, the host, NSS, an invariant) is logged in full and
//! answered as `internal`.

use elevated_proto::{ErrorCode, Response};

use crate::engine::EngineError;

/// The message of a request that needs re-authentication but came by a
/// way that cannot run it (D-Bus, a PAM question, a second attempt).
pub const REAUTH_ONLY_BY_CLIENT: &str =
    "this request needs re-authentication, which only the elevate client can do";

impl From<EngineError> for Response {
    fn from(e: EngineError) -> Self {
        let (code, message) = match e {
            EngineError::BadRequest(m) => (ErrorCode::BadRequest, m),
            EngineError::NotFound(m) => (ErrorCode::NotFound, m),
            EngineError::Forbidden(m) => (ErrorCode::Forbidden, m),
            EngineError::Limit(m) => (ErrorCode::Limit, m),
            EngineError::Conflict(m) => (ErrorCode::Conflict, m),
            EngineError::Internal(m) => {
                tracing::error!("{m}");
                (
                    ErrorCode::Internal,
                    format!("internal error in the daemon: {m}"),
                )
            }
            EngineError::Store(e) => {
                tracing::error!("{e}");
                (
                    ErrorCode::Internal,
                    "internal error in the daemon's state database; see its log".into(),
                )
            }
            EngineError::Grant(e) => {
                tracing::error!("{e}");
                (
                    ErrorCode::Internal,
                    format!("could not change the host: {e}"),
                )
            }
            EngineError::Account(e) => {
                tracing::error!("{e}");
                (
                    ErrorCode::Internal,
                    format!("could not look up an account: {e}"),
                )
            }
            EngineError::NotRecorded(m) => {
                tracing::error!("{m}");
                (ErrorCode::Internal, m)
            }
        };
        Response::Error { code, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: EngineError) -> ErrorCode {
        match Response::from(e) {
            Response::Error { code, .. } => code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_is_internal_is_answered_as_internal() {
        assert_eq!(
            code(EngineError::Internal("no randomness".into())),
            ErrorCode::Internal
        );
        assert_eq!(
            code(EngineError::Forbidden("not yours".into())),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(EngineError::BadRequest("no".into())),
            ErrorCode::BadRequest
        );
    }
}
