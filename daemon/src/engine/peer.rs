//! The caller of an engine operation: the kernel's word on who it is, with
//! the NSS account and logind session facts looked up only when an
//! operation needs them.
//!
//! Most calls (`status`, `show`, `wait`, every `run` and every PAM check
//! by root) need only the uid. Looking the account up on every connection
//! cost each of them a passwd read, a `getgrouplist` walk (nss-systemd
//! probes its userdb directories on each) and a group lookup per gid, and
//! a hop to a blocking thread and back before the first frame was read.
//!
//! A `Peer` lives for one message, never for a connection: group
//! membership decides policy and approval, so it is read again for each
//! decision and each approval (a caller removed from a group loses what
//! the group gave on its next message, however long its connection).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use elevated_proto::Request;

use super::EngineError;
use crate::sys::users::{self, Account};

/// Login-session facts (`session`, `service`, `tty`, `rhost`).
pub type Context = BTreeMap<String, Vec<String>>;

/// The caller, as the kernel and NSS describe it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// From `SO_PEERCRED`: the only source of identity.
    pub uid: u32,
    /// From `SO_PEERCRED`, when the kernel gives one.
    pub pid: Option<i32>,
    /// NSS facts about `uid`, looked up on first use (the error text when
    /// NSS has no such uid or fails).
    account: OnceLock<Result<Account, String>>,
    /// Session facts from logind, filled in by the server before an
    /// operation that decides policy; empty (unknown) until then.
    context: OnceLock<Context>,
}

impl Peer {
    /// A socket peer; its account is looked up when first needed.
    #[must_use]
    pub fn new(uid: u32, pid: Option<i32>) -> Self {
        Self {
            uid,
            pid,
            account: OnceLock::new(),
            context: OnceLock::new(),
        }
    }

    /// A caller whose account and session facts are already known (the
    /// user a PAM login asks about, root inside the daemon, tests).
    #[must_use]
    pub fn known(account: Account, pid: Option<i32>, context: Context) -> Self {
        Self {
            uid: account.uid,
            pid,
            account: OnceLock::from(Ok(account)),
            context: OnceLock::from(context),
        }
    }

    /// The caller's account: name, primary and supplementary groups.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`] when NSS does not know the uid: nobody
    /// can be granted, approve or be named in an audit row without a name.
    pub fn account(&self) -> Result<&Account, EngineError> {
        self.account
            .get_or_init(|| users::by_uid(self.uid).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| EngineError::Forbidden(format!("who are you? {e}")))
    }

    /// The caller's name (see [`Peer::account`]).
    ///
    /// # Errors
    /// As [`Peer::account`].
    pub fn name(&self) -> Result<&str, EngineError> {
        Ok(self.account()?.name.as_str())
    }

    /// Session facts, empty when unknown (context rules then fail closed).
    #[must_use]
    pub fn context(&self) -> &Context {
        static UNKNOWN: OnceLock<Context> = OnceLock::new();
        self.context
            .get()
            .unwrap_or_else(|| UNKNOWN.get_or_init(Context::new))
    }

    /// Whether session facts were looked up already.
    #[must_use]
    pub fn has_context(&self) -> bool {
        self.context.get().is_some()
    }

    /// Records the session facts; a second call changes nothing.
    pub fn set_context(&self, facts: Context) {
        let _ = self.context.set(facts);
    }

    /// Root asks: the PAM module, the administrator.
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Whether `req` acts as a named person. `ping`, `status`, `show`/`wait`
/// of one's own request, audit verification and the PAM module's questions
/// (root, about another user) need only the uid.
pub(super) fn names_caller(req: &Request) -> bool {
    !matches!(
        req,
        Request::Ping {}
            | Request::Status {}
            | Request::Show { .. }
            | Request::Wait { .. }
            | Request::AuditVerify {}
            | Request::AuditChain { .. }
            | Request::Login { .. }
            | Request::Session { .. }
            | Request::Answer { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_is_looked_up_once_and_on_demand() {
        let p = Peer::new(0, None);
        assert!(p.account.get().is_none(), "nothing looked up yet");
        assert_eq!(p.name().unwrap(), "root");
        assert!(p.account.get().is_some());
        assert!(p.context().is_empty());
        assert!(!p.has_context());
        p.set_context(Context::from([("tty".into(), vec!["pts/1".into()])]));
        p.set_context(Context::new());
        assert_eq!(p.context()["tty"], ["pts/1"]);
    }

    #[test]
    fn unknown_uid_is_refused_by_name() {
        // No NSS database on a test machine uses this uid.
        let p = Peer::new(4_000_000_123, Some(7));
        let err = p.account().unwrap_err().to_string();
        assert!(err.starts_with("who are you?"), "{err}");
        assert!(p.name().is_err());
    }
}
