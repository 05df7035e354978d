//! The campaign's host: test users, a test group, a hermetic daemon running
//! the fault-injection build, and the policy the random traffic exercises.

use std::time::Duration;

use crate::{Daemon, TestGroup, TestUser};

/// The daemon build with fault points (scripts/test makes it).
pub const FAULT_BINARY: &str = "elevated-faults";

/// Roles of the campaign policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sudo rights, approved automatically.
    Auto,
    /// Sudo rights, one local approval.
    Approved,
    /// Sudo rights and the test group, approved automatically.
    Group,
    /// The test group only, one local approval.
    GroupApproved,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Auto, Role::Approved, Role::Group, Role::GroupApproved];

    pub fn name(self) -> &'static str {
        match self {
            Role::Auto => "auto",
            Role::Approved => "appr",
            Role::Group => "grp",
            Role::GroupApproved => "grpappr",
        }
    }

    pub fn needs_approval(self) -> bool {
        matches!(self, Role::Approved | Role::GroupApproved)
    }

    pub fn has_group(self) -> bool {
        matches!(self, Role::Group | Role::GroupApproved)
    }
}

/// Index of a campaign user in [`World::users`].
pub type Who = usize;

/// Alice and bob request and approve each other; carol only approves; dave
/// requests and was a member of the test group before any grant (the daemon
/// must never take that membership away).
pub const ALICE: Who = 0;
pub const BOB: Who = 1;
pub const CAROL: Who = 2;
pub const DAVE: Who = 3;
pub const REQUESTERS: [Who; 3] = [ALICE, BOB, DAVE];
pub const APPROVERS: [Who; 3] = [ALICE, BOB, CAROL];

/// Everything the campaign runs against. Field order is drop order: the
/// daemon goes before the users and the group it changes.
pub struct World {
    pub d: Daemon,
    pub users: Vec<TestUser>,
    pub group: TestGroup,
}

impl World {
    /// Creates users, group and policy; the daemon is not started.
    pub fn new() -> Self {
        let group = TestGroup::new("crash");
        let users = vec![
            TestUser::new("ca", &[]),
            TestUser::new("cb", &[]),
            TestUser::new("cc", &[]),
            TestUser::new("cd", &[&group]),
        ];
        let d = Daemon::new("").with_binary(FAULT_BINARY);
        // Reconcile often, so that periodic reconciliation races with the
        // traffic too (the default is a minute).
        let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
            "[daemon]\n",
            "[daemon]\nreconcile_interval = \"1s\"\n",
            1,
        );
        d.file("elevated.toml", &cfg, 0o644);
        let name = |w: Who| format!("\"{}\"", users[w].name);
        let requesters: Vec<String> = REQUESTERS.iter().map(|w| name(*w)).collect();
        let approvers: Vec<String> = APPROVERS.iter().map(|w| name(*w)).collect();
        let (req, appr) = (requesters.join(", "), approvers.join(", "));
        let g = &group.name;
        d.policy(
            "10-crash.toml",
            &format!(
                "[roles.auto]\nsudo = {{ commands = [\"/usr/bin/true\"] }}\nmax_duration = \"10s\"\n\n\
                 [roles.appr]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\nmax_duration = \"10s\"\n\n\
                 [roles.grp]\nsudo = {{ commands = [\"/usr/bin/false\"] }}\ngroups = [\"{g}\"]\nmax_duration = \"10s\"\n\n\
                 [roles.grpappr]\ngroups = [\"{g}\"]\nmax_duration = \"10s\"\n\n\
                 [[rules]]\nrole = \"auto\"\nwho = {{ users = [{req}] }}\n\n\
                 [[rules]]\nrole = \"grp\"\nwho = {{ users = [{req}] }}\n\n\
                 [[rules]]\nrole = \"appr\"\nwho = {{ users = [{req}] }}\n\
                 approval = {{ count = 1, approvers = {{ users = [{appr}] }}, timeout = \"2s\" }}\n\n\
                 [[rules]]\nrole = \"grpappr\"\nwho = {{ users = [{req}] }}\n\
                 approval = {{ count = 1, approvers = {{ users = [{appr}] }}, timeout = \"2s\" }}\n"
            ),
        );
        Self { d, users, group }
    }

    /// The users who were members of the test group before the campaign.
    pub fn preexisting_members(&self) -> Vec<String> {
        vec![self.users[DAVE].name.clone()]
    }

    /// Name of a campaign user.
    pub fn name(&self, w: Who) -> &str {
        &self.users[w].name
    }

    /// Who a user name is, if it is one of ours.
    pub fn who(&self, name: &str) -> Option<Who> {
        self.users.iter().position(|u| u.name == name)
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// How long after its end a grant may still be seen on the host, and the
/// bound the issue sets after a restart.
pub const GRACE: Duration = Duration::from_secs(1);
