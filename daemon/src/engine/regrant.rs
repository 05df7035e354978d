//! What a process sweep may still end: between the end of a grant and the
//! SIGKILL after its grace period, another grant may have given the user
//! the same group or login access again. Processes that hold what a live
//! grant gives are that grant's, not the ended one's.
#![forbid(unsafe_code)]

use elevated_proto::RequestState;

use super::Engine;
use crate::grant::sweep::Target;
use crate::store::requests;

impl Engine {
    /// `t` without the gids and login access that another active grant of
    /// the same user gives now. When the store cannot be read, `t` as it
    /// was decided: the window has ended, and ending too much is safer
    /// than keeping a privilege.
    pub(super) fn still_due(&self, ended: &str, t: &Target) -> Target {
        let mut due = t.clone();
        let st = self.lock();
        let Ok(open) = requests::open_of(st.store.conn(), t.uid) else {
            return due;
        };
        for r in open.iter().filter(|r| {
            r.state == RequestState::Active && r.id.as_str() != ended && r.user == t.user.as_str()
        }) {
            if r.grant.login {
                due.login_sessions = false;
            }
            for g in &r.grant.groups {
                if let Ok(Some(gid)) = st.groups.gid(g) {
                    due.gids.retain(|have| *have != gid);
                }
            }
        }
        due
    }
}
