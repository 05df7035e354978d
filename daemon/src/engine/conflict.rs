//! What a new request may not be: a second grant of a role the requester
//! already holds (or has asked for), or an empty grant of a role that only
//! offers just-in-time actions.
//!
//! A second grant of the same role adds nothing but a second window to
//! keep track of (and a second drop-in granting the same rights): the
//! requester almost always wanted more time, which `extend` gives with the
//! same decision a new request would get. Just-in-time actions are one
//! command run each, apart from the role's own grant: they never conflict
//! with it, nor with each other.
#![forbid(unsafe_code)]

use elevated_proto::RequestState;

use super::EngineError;
use crate::policy::Role;
use crate::store::{requests, RequestRow};
use crate::times::rfc3339;

/// Refuses `new` (a request not yet stored) unless it is an action, while
/// its requester holds an active grant of its role, or has a pending
/// request for it; names that one and what to do instead. A grant whose
/// window has ended counts for nothing, even before the timer marks it.
///
/// Root is exempt: it needs no grant for any right, so its grants serve
/// automation that exercises the daemon (benchmarks, provisioning checks),
/// which may hold many of one role at once.
pub(super) fn refuse_duplicate(
    conn: &rusqlite::Connection,
    new: &RequestRow,
    now_ms: i64,
) -> Result<(), EngineError> {
    if new.command.is_some() || new.uid == 0 {
        return Ok(());
    }
    let role = &new.role;
    let open = requests::open_of(conn, new.uid)?;
    let same = open.into_iter().find(|r| {
        r.role == *role
            && r.command.is_none()
            && (r.state == RequestState::Pending
                || (r.state == RequestState::Active && r.in_window(now_ms)))
    });
    let Some(r) = same else {
        return Ok(());
    };
    let id = &r.id;
    Err(EngineError::Conflict(if r.state == RequestState::Pending {
        format!(
            "you already asked for role {role}: request {id} is pending; follow it with \
             `elevate show {id}` (or withdraw it with `elevate cancel {id}`)"
        )
    } else {
        format!(
            "you already hold role {role}: grant {id} is active until {}; ask for more time \
             with `elevate extend {id} --for D`",
            r.expires_at.map(rfc3339).unwrap_or_default()
        )
    }))
}

/// Whether `role` gives nothing but just-in-time actions.
pub(super) fn actions_only(role: &Role) -> bool {
    role.sudo.is_none() && role.groups.is_empty() && !role.login && !role.actions.is_empty()
}

/// Refuses a request for the role's own grant (`command` is `None`) when
/// the role offers only just-in-time actions: that grant would give
/// nothing.
pub(super) fn refuse_empty(role: &Role, command: Option<&Vec<String>>) -> Result<(), EngineError> {
    if command.is_none() && actions_only(role) {
        return Err(EngineError::BadRequest(format!(
            "role {} offers only just-in-time actions (each run approved on its own); run one \
             with `elevate run --role {} -- COMMAND`",
            role.name, role.name
        )));
    }
    Ok(())
}
