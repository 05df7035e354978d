//! Whether a grant's stored user name still names the account the grant
//! was made for. Sudoers rules and `gpasswd` act on names, grants belong to
//! uids: after `userdel` (and perhaps `useradd` of the same name) the name
//! may name nobody or somebody else, and nothing may be given to them.
#![forbid(unsafe_code)]

use serde_json::json;

use crate::sys::users::{entry_by_name, LookupError};

/// What a stored name names now, compared with the grant's uid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holder {
    /// The account the grant was made for.
    Same,
    /// No account: the user was deleted.
    Gone,
    /// Another account, with this uid (the name was given again).
    Other(u32),
}

/// How a name is looked up: NSS in the daemon; tests of the engine, whose
/// users exist only in the test, put in their own.
pub(super) type Lookup = fn(&str, u32) -> Result<Holder, LookupError>;

/// The passwd entry of `name`, compared with `uid`. An NSS failure is an
/// error, never [`Holder::Gone`]: a directory that is down must not look
/// like a deleted user.
pub(super) fn nss(name: &str, uid: u32) -> Result<Holder, LookupError> {
    match entry_by_name(name) {
        Ok(e) if e.uid() == uid => Ok(Holder::Same),
        Ok(e) => Ok(Holder::Other(e.uid())),
        Err(LookupError::NoSuchUser(_)) => Ok(Holder::Gone),
        Err(e) => Err(e),
    }
}

impl Holder {
    /// Why a grant of `user` (uid `uid`) ends or a membership is dropped,
    /// in words for the request's message and the log.
    pub(super) fn why(self, user: &str, uid: u32) -> String {
        match self {
            Self::Same => format!("{user} is still uid {uid}"),
            Self::Gone => format!("the account {user} (uid {uid}) no longer exists"),
            Self::Other(now) => {
                format!("{user} now names uid {now}, not the requester (uid {uid})")
            }
        }
    }

    /// The same, for an audit row's detail.
    pub(super) fn detail(self, user: &str, uid: u32) -> serde_json::Value {
        match self {
            Self::Same => json!({"user": user, "uid": uid, "account": "same"}),
            Self::Gone => json!({"user": user, "uid": uid, "account": "gone"}),
            Self::Other(now) => {
                json!({"user": user, "uid": uid, "account": "other", "now_uid": now})
            }
        }
    }
}
