//! Sample daemon answers, for tests of what the client and the PAM module
//! make of them. Tests that need other values change the fields they care
//! about (`RequestView { reason: ..., ..view(...) }`).

use elevated_proto::{RequestState, RequestView, RoleOffer, SudoView};

/// Sudo rights as `runas`, without a password.
pub fn sudo(runas: &str, commands: &[&str]) -> SudoView {
    SudoView {
        runas: runas.into(),
        commands: commands.iter().map(|c| (*c).to_owned()).collect(),
        nopasswd: true,
    }
}

/// A view of request `id` of alice (uid 1000) on db1, for `role` in
/// `state`: asked at 09:59, decided and started at 10:00 and ending at
/// 10:30 (2025-01-31) when active; every optional field left out.
pub fn view(id: &str, role: &str, state: RequestState) -> RequestView {
    let active = state == RequestState::Active;
    RequestView {
        id: id.into(),
        state,
        role: role.into(),
        user: "alice".into(),
        uid: 1000,
        host: "db1".into(),
        reason: None,
        ticket: None,
        duration_secs: 1800,
        requested_at: "2025-01-31T09:59:00Z".into(),
        decided_at: active.then(|| "2025-01-31T10:00:00Z".into()),
        starts_at: active.then(|| "2025-01-31T10:00:00Z".into()),
        expires_at: active.then(|| "2025-01-31T10:30:00Z".into()),
        ended_at: None,
        remaining_secs: None,
        rule: None,
        message: String::new(),
        approvals_needed: 0,
        sudo: None,
        approvals: Vec::new(),
        approvals_given: 0,
        approvers: None,
        pending_until: None,
        command: None,
        break_glass: false,
        reviewed: None,
        extension_secs: None,
    }
}

/// An offer of `role`: 30 minutes by default, two hours at most.
pub fn offer(role: &str, allowed: bool, sudo: Option<SudoView>) -> RoleOffer {
    RoleOffer {
        role: role.into(),
        description: format!("the {role} role"),
        allowed,
        approvals: 0,
        rule: None,
        reason: String::new(),
        default_duration_secs: 1800,
        max_duration_secs: 7200,
        sudo,
        groups: Vec::new(),
        actions: Vec::new(),
        action_duration_secs: None,
        actions_only: false,
    }
}
