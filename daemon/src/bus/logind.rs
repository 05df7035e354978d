//! logind's view of the requester's session (`org.freedesktop.login1`).

use std::collections::BTreeMap;

use zbus::zvariant::OwnedObjectPath;

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
trait Manager {
    /// The session a process belongs to. logind spells the method
    /// `GetSessionByPID`; the name zbus would derive (`GetSessionByPid`)
    /// does not exist, so it is given explicitly.
    #[zbus(name = "GetSessionByPID")]
    fn get_session_by_pid(&self, pid: u32) -> zbus::Result<OwnedObjectPath>;
}

#[zbus::proxy(
    interface = "org.freedesktop.login1.Session",
    default_service = "org.freedesktop.login1"
)]
trait Session {
    /// Whether the session came over the network.
    #[zbus(property)]
    fn remote(&self) -> zbus::Result<bool>;
    /// The remote host, if any.
    #[zbus(property)]
    fn remote_host(&self) -> zbus::Result<String>;
    /// The terminal.
    #[zbus(property, name = "TTY")]
    fn tty(&self) -> zbus::Result<String>;
    /// The PAM service that opened it.
    #[zbus(property)]
    fn service(&self) -> zbus::Result<String>;
    /// The session's owner: uid and user object.
    #[zbus(property)]
    fn user(&self) -> zbus::Result<(u32, OwnedObjectPath)>;
}

/// The facts rules can use: `session` (`local`/`remote`), and `service`,
/// `tty`, `rhost` when logind reports them non-empty.
///
/// Only facts of a session owned by `uid` (the caller's, from
/// `SO_PEERCRED`): the pid taken at connect time may since belong to
/// another process (the caller exited, or handed its connection on), and
/// another user's session must never decide this caller's request.
pub(super) async fn facts(
    conn: &zbus::Connection,
    pid: u32,
    uid: u32,
) -> zbus::Result<BTreeMap<String, Vec<String>>> {
    let manager = ManagerProxy::new(conn).await?;
    let path = manager.get_session_by_pid(pid).await?;
    let session = SessionProxy::builder(conn).path(path)?.build().await?;
    let (owner, _) = session.user().await?;
    if owner != uid {
        return Err(zbus::Error::Failure(format!(
            "the session of pid {pid} belongs to uid {owner}, not to the caller (uid {uid})"
        )));
    }
    let mut out = BTreeMap::new();
    let remote = session.remote().await?;
    out.insert(
        "session".to_owned(),
        vec![if remote { "remote" } else { "local" }.to_owned()],
    );
    for (key, value) in [
        ("rhost", session.remote_host().await.unwrap_or_default()),
        ("tty", session.tty().await.unwrap_or_default()),
        ("service", session.service().await.unwrap_or_default()),
    ] {
        if !value.is_empty() {
            out.insert(key.to_owned(), vec![value]);
        }
    }
    Ok(out)
}
