//! Which permits an engine call runs under, so that no caller's flood of
//! one kind of call can hold up another kind, least of all root's logins.
//!
//! A call takes its permits in one order and waits for nothing else behind
//! a permit once it holds it: reads open a pooled connection rather than
//! queue for one, and the engine lock is held only by transitions.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use elevated_proto::Request;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::engine::{Peer, READERS};

/// Transitions at once on blocking threads. The engine serialises them
/// behind one lock, so more would only add threads waiting for it (each
/// with its stack): under a thousand concurrent clients the blocking pool
/// grew to its 512-thread cap and the daemon's memory with it. Waiting for
/// a permit costs a task a few bytes instead, in order.
const ENGINE_CALLS: usize = 8;

/// Root's `Login` and `Session` calls at once (the PAM module, inside
/// sshd and login). They have permits of their own so that no flood of
/// other calls can hold a login past the PAM module's timeout: a user with
/// a login grant was locked out (`fail=closed`) and one without let in
/// (`fail=open`) while one user's 32 clients held the general permits.
const LOGIN_CALLS: usize = 4;

/// Reads one user may run at once: fewer than the read lane has, so the
/// rest of it is always free for everyone else.
const READS_PER_USER: usize = READERS / 2;

/// The kinds of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Transitions: serialised by the engine lock anyway.
    Calls,
    /// Reads served outside the engine lock, as many at once as there are
    /// pooled read connections.
    Reads,
    /// Root's PAM questions.
    Logins,
}

fn lane(peer: &Peer, req: &Request) -> Lane {
    match req {
        // Only root's: anyone else's is refused, but must not be able to
        // crowd the lane root's logins depend on.
        Request::Login { .. } | Request::Session { .. } if peer.is_root() => Lane::Logins,
        Request::Ping {}
        | Request::Roles {}
        | Request::Status {}
        | Request::List { .. }
        | Request::Show { .. }
        | Request::Wait { .. }
        | Request::Audit { .. }
        | Request::AuditVerify {}
        | Request::AuditChain { .. } => Lane::Reads,
        _ => Lane::Calls,
    }
}

/// The permits of every lane.
pub(super) struct Lanes {
    calls: Semaphore,
    reads: Semaphore,
    logins: Semaphore,
    /// Each user's share of the read lane, while they have reads running
    /// or waiting.
    readers: Mutex<HashMap<u32, Arc<Semaphore>>>,
}

/// What a call holds while it runs.
pub(super) struct Pass<'a> {
    _lane: SemaphorePermit<'a>,
    _share: Option<Share<'a>>,
}

/// A user's share of the read lane; forgets the user's semaphore when the
/// last of their reads ends.
struct Share<'a> {
    permit: Option<OwnedSemaphorePermit>,
    uid: u32,
    lanes: &'a Lanes,
}

impl Drop for Share<'_> {
    fn drop(&mut self) {
        let mut readers = self.lanes.readers.lock().unwrap_or_else(|p| p.into_inner());
        drop(self.permit.take());
        if let Some(sem) = readers.get(&self.uid) {
            // Only the map holds it: nobody has or waits for a read.
            if Arc::strong_count(sem) == 1 {
                readers.remove(&self.uid);
            }
        }
    }
}

impl Lanes {
    pub(super) fn new() -> Self {
        Self {
            calls: Semaphore::new(ENGINE_CALLS),
            reads: Semaphore::new(READERS),
            logins: Semaphore::new(LOGIN_CALLS),
            readers: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for the permits `req` from `peer` runs under; `None` once the
    /// daemon is stopping. A read first waits for its user's share, then
    /// for the lane: waiting for the share holds nothing others need.
    pub(super) async fn enter(&self, peer: &Peer, req: &Request) -> Option<Pass<'_>> {
        let (sem, share) = match lane(peer, req) {
            Lane::Calls => (&self.calls, None),
            Lane::Logins => (&self.logins, None),
            Lane::Reads => {
                let mine = {
                    let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
                    readers
                        .entry(peer.uid)
                        .or_insert_with(|| Arc::new(Semaphore::new(READS_PER_USER)))
                        .clone()
                };
                let mut share = Share {
                    permit: None,
                    uid: peer.uid,
                    lanes: self,
                };
                share.permit = Some(mine.acquire_owned().await.ok()?);
                (&self.reads, Some(share))
            }
        };
        Some(Pass {
            _lane: sem.acquire().await.ok()?,
            _share: share,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(uid: u32) -> Peer {
        Peer::new(uid, None)
    }

    #[tokio::test]
    async fn one_user_cannot_take_the_whole_read_lane() {
        let lanes = Lanes::new();
        let verify = Request::AuditVerify {};
        let mut held = Vec::new();
        for _ in 0..READS_PER_USER {
            held.push(lanes.enter(&peer(1000), &verify).await.unwrap());
        }
        // The hog's next read waits for its own share...
        let hog_peer = peer(1000);
        let hog = lanes.enter(&hog_peer, &verify);
        tokio::pin!(hog);
        assert!(futures_poll_once(hog.as_mut()).await.is_none());
        // ...while everyone else still gets in, and root's logins have
        // their own permits whatever the lanes hold.
        let other = lanes.enter(&peer(1001), &verify).await.unwrap();
        let login = Request::Session(elevated_proto::SessionEvent {
            user: "alice".into(),
            service: "sshd".into(),
            open: true,
            rhost: None,
            tty: None,
        });
        let root = lanes.enter(&peer(0), &login).await.unwrap();
        drop((other, root));
        held.pop();
        assert!(futures_poll_once(hog.as_mut()).await.is_some());
        drop(held);
        assert!(lanes.readers.lock().unwrap().is_empty());
    }

    /// Polls `f` once: `Some` if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        let mut f = f;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
