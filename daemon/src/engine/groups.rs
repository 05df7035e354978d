//! Group grants on the host: memberships added when a grant becomes active,
//! taken back when it ends, and the processes that outlive it found and
//! (with `on_expiry = "terminate"`) ended.

use crate::audit::event::AuditEvent;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use elevated_proto::{GrantId, GroupName, RequestState, UserName};
use rusqlite::Connection;
use serde_json::json;

use super::holder::Holder;
use super::{Engine, EngineError, State};
use crate::grant::groups::Added;
use crate::grant::sweep::Target;
use crate::policy::OnExpiry;
use crate::store::{audit, memberships, requests, AuditRow, RequestRow, StoreError};

/// Adds `row`'s groups. Each membership is journalled before `gpasswd -a`
/// runs, so a crash at any point leaves a row reconciliation acts on. A
/// membership the user already had is never journalled, so never removed.
/// On failure, takes back what it added.
pub(super) fn add_groups(st: &mut State, row: &RequestRow) -> Result<(), EngineError> {
    if row.grant.groups.is_empty() {
        return Ok(());
    }
    let user = UserName::parse(&row.user)
        .map_err(|e| EngineError::Internal(format!("stored user name: {e}")))?;
    let rid = row.id.to_string();
    for g in &row.grant.groups {
        if st.groups.is_member(&user, g)? {
            continue;
        }
        st.store
            .tx(|tx| memberships::begin(tx, &rid, &row.user, g.as_str()))?;
        match st.groups.add(&user, g) {
            Ok(Added::Now) => {}
            Ok(Added::AlreadyMember) => {
                st.store.tx(|tx| memberships::close(tx, &rid, g.as_str()))?;
            }
            Err(e) => {
                if let Err(undo) = take_back(st, &rid, 0) {
                    tracing::error!("taking back the groups of {rid}: {undo}");
                }
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// In the transaction that makes a grant active: confirms its journalled
/// memberships and audits each.
pub(super) fn confirm_groups(
    tx: &Connection,
    rid: &str,
    actor: &str,
    now_ms: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut out = Vec::new();
    for m in memberships::open(tx, Some(rid))? {
        let detail = json!({"user": m.user, "group": m.group});
        out.push(audit::append(
            tx,
            now_ms,
            AuditEvent::GroupAdded,
            actor,
            Some(rid),
            &detail,
        )?);
    }
    memberships::confirm(tx, rid)?;
    Ok(out)
}

/// What [`take_back`] did.
#[derive(Debug, Default)]
pub(super) struct TakenBack {
    /// Audit rows to publish.
    pub rows: Vec<AuditRow>,
    /// Gids of the memberships removed (for the process sweep).
    pub gids: Vec<u32>,
}

/// Takes back every membership grant `rid` still owes. One that another
/// active grant of the same user also owes is handed to that grant instead.
pub(super) fn take_back(st: &mut State, rid: &str, now_ms: i64) -> Result<TakenBack, EngineError> {
    let mut done = TakenBack::default();
    let owed = memberships::open(st.store.conn(), Some(rid))?;
    if owed.is_empty() {
        return Ok(done);
    }
    let active = requests::in_state(st.store.conn(), RequestState::Active)?;
    // The uid the grant was made for; none if its request row was never
    // committed (the journal row comes first) or cannot be read.
    let uid = GrantId::parse(rid)
        .ok()
        .and_then(|id| requests::get(st.store.conn(), &id).ok().flatten())
        .map(|r| r.uid);
    for m in owed {
        let (Ok(user), Ok(group)) = (UserName::parse(&m.user), GroupName::parse(&m.group)) else {
            st.store.tx(|tx| memberships::close(tx, rid, &m.group))?;
            continue;
        };
        if let Some(h) = heir(st, &active, rid, &m.user, &group, now_ms) {
            let to = h.id.to_string();
            let detail = json!({"user": m.user, "group": m.group, "to": to});
            let row = end_row(
                st,
                rid,
                &m.group,
                Some(&to),
                AuditEvent::GroupKept,
                &detail,
                now_ms,
            )?;
            done.rows.push(row);
            continue;
        }
        // gpasswd acts on the name: after userdel it fails (and would fail
        // every retry), after userdel + useradd it would take the group from
        // an account that merely has the name now. Either way the
        // membership ended with the account: close the row, touch nothing.
        let holder = match uid {
            Some(uid) => (st.accounts)(&m.user, uid)?,
            None => Holder::Same,
        };
        let detail = if holder == Holder::Same {
            if let Ok(Some(gid)) = st.groups.gid(&group) {
                done.gids.push(gid);
            }
            let was_member = st.groups.remove(&user, &group)?;
            json!({"user": m.user, "group": m.group, "was_member": was_member})
        } else {
            let mut detail = holder.detail(&m.user, uid.unwrap_or_default());
            if let Some(d) = detail.as_object_mut() {
                d.insert("group".into(), json!(m.group));
                d.insert("was_member".into(), json!(false));
            }
            detail
        };
        let row = end_row(
            st,
            rid,
            &m.group,
            None,
            AuditEvent::GroupRemoved,
            &detail,
            now_ms,
        )?;
        done.rows.push(row);
    }
    Ok(done)
}

/// The grant that inherits `user`'s membership of `group` from `rid`: only
/// a grant still in force inherits. One whose window has ended (the timer
/// is late for it too) owes nothing, nor one already taken away whose end
/// waits to be recorded.
fn heir<'a>(
    st: &State,
    active: &'a [RequestRow],
    rid: &str,
    user: &str,
    group: &GroupName,
    now_ms: i64,
) -> Option<&'a RequestRow> {
    active.iter().find(|r| {
        r.id.as_str() != rid
            && r.user == user
            && r.grant.groups.contains(group)
            && r.in_window(now_ms)
            && !super::unrecorded::pending(st, &r.id)
    })
}

/// Ends `rid`'s journal row for `group` (handed to `to`, or closed) with
/// its audit row, in one transaction.
fn end_row(
    st: &mut State,
    rid: &str,
    group: &str,
    to: Option<&str>,
    event: AuditEvent,
    detail: &serde_json::Value,
    now_ms: i64,
) -> Result<AuditRow, EngineError> {
    let row = st.store.tx(|tx| {
        match to {
            Some(to) => memberships::transfer(tx, rid, to, group)?,
            None => memberships::close(tx, rid, group)?,
        }
        audit::append(tx, now_ms, event, "daemon", Some(rid), detail)
    })?;
    Ok(row)
}

/// Removes on the host every membership grant `rid` still owes, writing
/// nothing (its end could not be committed): the journal keeps them open,
/// so [`take_back`] closes and audits them once the end is committed. One
/// that another grant still in force also owes stays.
pub(super) fn take_back_on_host(st: &mut State, rid: &str, now_ms: i64) -> Result<(), EngineError> {
    let owed = memberships::open(st.store.conn(), Some(rid))?;
    if owed.is_empty() {
        return Ok(());
    }
    let active = requests::in_state(st.store.conn(), RequestState::Active)?;
    let mut failed = Ok(());
    for m in owed {
        let (Ok(user), Ok(group)) = (UserName::parse(&m.user), GroupName::parse(&m.group)) else {
            continue;
        };
        let kept = active.iter().any(|r| {
            r.id.as_str() != rid
                && r.user == m.user
                && r.grant.groups.contains(&group)
                && r.in_window(now_ms)
                && !super::unrecorded::pending(st, &r.id)
        });
        if kept {
            continue;
        }
        // One failure must not keep the other groups.
        if let Err(e) = st.groups.remove(&user, &group) {
            failed = Err(e.into());
        }
    }
    failed
}

/// The processes to look for when `row` ends: those of its user still
/// holding `gids`, and those started through its sudo rule in its window.
pub(super) fn sweep_target(row: &RequestRow, gids: Vec<u32>) -> Option<Target> {
    let user = UserName::parse(&row.user).ok()?;
    let runas_uid = row.grant.sudo.as_ref().and_then(|s| {
        crate::sys::users::entry_by_name(s.runas.as_str())
            .ok()
            .map(|u| u.uid())
    });
    let login_sessions = row.grant.login;
    if gids.is_empty() && runas_uid.is_none() && !login_sessions {
        return None;
    }
    Some(Target {
        user,
        uid: row.uid,
        gids,
        runas_uid,
        starts_at: row.starts_at?,
        expires_at: row.ended_at.or(row.expires_at)?,
        login_sessions,
    })
}

impl Engine {
    /// Looks for (and with `terminate`, ends) what outlived a grant, on a
    /// thread of its own: a grace period must never hold up other
    /// requests or expiries. Every pid found or signalled is audited.
    pub(super) fn sweep(&self, row: &RequestRow, target: Target) {
        let rid = row.id.to_string();
        let mode = row.grant.on_expiry;
        let grace = Duration::from_secs(row.grant.terminate_grace_secs.max(1));
        let weak = self.me.get().cloned();
        let job = move |engine: &Engine| {
            // Files first: a set-gid file could otherwise start new holders
            // of the group while processes are being ended.
            engine.neutralise_setgid(&rid, &target);
            let (event, detail) = match mode {
                OnExpiry::Terminate => {
                    match crate::grant::procs::end_processes(&target, grace, &|t| {
                        engine.still_due(&rid, t)
                    }) {
                        Ok(report) if report.ended.is_empty() => return,
                        Ok(report) => (AuditEvent::ProcessesEnded, json!({"report": report})),
                        Err(e) => (
                            AuditEvent::ProcessesSweepFailed,
                            json!({"error": e.to_string()}),
                        ),
                    }
                }
                OnExpiry::Warn => match crate::grant::procs::find(
                    Path::new("/proc"),
                    &engine.still_due(&rid, &target),
                ) {
                    Ok(found) if found.is_empty() => return,
                    Ok(found) => (AuditEvent::ProcessesOutlived, json!({"found": found})),
                    Err(e) => (
                        AuditEvent::ProcessesSweepFailed,
                        json!({"error": e.to_string()}),
                    ),
                },
            };
            if let Err(e) = engine.audit_event(&rid, event, &detail) {
                tracing::error!("auditing the process sweep of {rid}: {e}");
            }
        };
        // Always on another thread: the caller holds the engine's lock,
        // which the audit row at the end needs.
        let Some(engine) = weak.and_then(|w| w.upgrade()) else {
            tracing::warn!("process sweep of {} skipped: engine not attached", row.id);
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("elevated-sweep".into())
            .spawn(move || job(&engine));
        match spawned {
            Ok(handle) => {
                let mut running = self.sweeps.lock().unwrap_or_else(|p| p.into_inner());
                running.retain(|h| !h.is_finished());
                running.push(handle);
            }
            Err(e) => tracing::error!("cannot start the process sweep: {e}"),
        }
    }

    /// Waits for every sweep started so far to finish (each is bounded by
    /// its grace period and `setgid_scan_timeout`). For one-shot commands
    /// (`revoke-all`) that must not exit with a sweep half done.
    pub fn wait_for_sweeps(&self) {
        let running = std::mem::take(&mut *self.sweeps.lock().unwrap_or_else(|p| p.into_inner()));
        for h in running {
            let _ = h.join();
        }
    }

    /// Lets background work (process sweeps) reach the engine.
    pub fn attach(self: &Arc<Self>) {
        let _ = self.me.set(Arc::downgrade(self));
    }

    /// One audit row about a request id, outside any transition.
    pub(super) fn audit_event(
        &self,
        rid: &str,
        event: AuditEvent,
        detail: &serde_json::Value,
    ) -> Result<(), EngineError> {
        // On a sweep's own thread, long after the transition: the engine's
        // time now, checked against the boot clock like every other.
        let now_ms = self.now().as_millisecond();
        let mut st = self.lock();
        let row = st
            .store
            .tx(|tx| audit::append(tx, now_ms, event, "daemon", Some(rid), detail))?;
        drop(st);
        self.after_commit(&[row]);
        Ok(())
    }
}
