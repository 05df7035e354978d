//! Scenarios: the state a documented command example assumes, prepared on
//! a private daemon with test users standing for the documented people.
//! Kept few and reusable; docs/testing.md lists them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::extract::Block;
use super::marker::TomlKind;
use crate::daemon::{elevate_at, text};
use crate::{Daemon, TestGroup, TestUser};

/// A daemon in the state a scenario describes.
pub struct Stage {
    pub daemon: Daemon,
    /// Documented user name → test user.
    pub users: BTreeMap<String, TestUser>,
    /// Documented group name → test group.
    pub groups: BTreeMap<String, TestGroup>,
    /// Real request ids, in the order the documented ids are given to them.
    pub ids: Vec<String>,
    /// Who `$` is.
    pub default_user: String,
    approver: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.approver.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = handle.join();
        }
    }
}

impl Stage {
    /// (test name, documented name) pairs, longest first, for reading
    /// real output as the docs write it.
    pub fn names(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .users
            .iter()
            .map(|(d, u)| (u.name.clone(), d.clone()))
            .chain(self.groups.iter().map(|(d, g)| (g.name.clone(), d.clone())))
            .collect();
        v.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        v
    }

    /// Every request id the daemon holds (the scenario's and those the
    /// documented commands made).
    pub fn all_ids(&self) -> Vec<String> {
        let out = elevate_at(&self.daemon.socket, None, &["--json", "list", "--all"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let mut ids: Vec<String> = v["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect();
        ids.extend(self.ids.iter().cloned());
        ids
    }

    /// `elevate ARGS` as a documented user, checked to succeed; its stdout.
    fn elevate_ok(&self, user: &str, args: &[&str]) -> String {
        let out = elevate_at(&self.daemon.socket, self.users.get(user), args);
        let (o, e) = text(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 1 | 3)),
            "scenario: elevate {args:?} as {user}: {o}{e}"
        );
        o
    }

    /// `elevate --json request ROLE --no-wait ...` as `user`; the id.
    fn request(&mut self, user: &str, role: &str, extra: &[&str]) -> String {
        let mut args = vec!["--json", "request", role, "--no-wait"];
        args.extend_from_slice(extra);
        let v: serde_json::Value = serde_json::from_str(&self.elevate_ok(user, &args)).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        self.ids.push(id.clone());
        id
    }

    /// Approves `id` as each of `who` in turn.
    fn approve(&self, id: &str, who: &[&str]) {
        for w in who {
            self.elevate_ok(w, &["approve", id]);
        }
    }

    /// Starts a helper that decides every pending request as each of
    /// `who` in turn (`verdict`: `approve` or `deny`, with `extra`
    /// arguments), while the documented command waits.
    fn deciding(&mut self, who: &[&str], verdict: &'static str, extra: &'static [&'static str]) {
        let stop = Arc::new(AtomicBool::new(false));
        let socket = self.daemon.socket.clone();
        let people: Vec<TestUser> = who
            .iter()
            .map(|w| {
                let u = &self.users[*w];
                TestUser {
                    name: u.name.clone(),
                    uid: u.uid,
                    gid: u.gid,
                }
            })
            .collect();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut done = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                let out = elevate_at(&socket, None, &["--json", "list", "--pending"]);
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
                for r in v["requests"].as_array().into_iter().flatten() {
                    let id = r["id"].as_str().unwrap_or_default().to_owned();
                    if id.is_empty() || done.contains(&id) {
                        continue;
                    }
                    for p in &people {
                        let mut args = vec![verdict, id.as_str()];
                        args.extend_from_slice(extra);
                        elevate_at(&socket, Some(p), &args);
                    }
                    done.push(id);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // The copies are not the owners: the stage deletes the users.
            std::mem::forget(people);
        });
        self.approver = Some((stop, handle));
    }
}

/// People and groups of the `db` scenarios, with their memberships.
const DB_GROUPS: &[&str] = &["dba", "dba-leads", "ops", "ops-leads", "adm"];
const DB_USERS: &[(&str, &[&str])] = &[
    ("alice", &["dba", "ops"]),
    ("bob", &["dba-leads", "ops-leads"]),
    ("carol", &["dba-leads"]),
    ("postgres", &[]),
];

/// The `db` policy of docs/cli.md's examples (file `10-db.toml`; its
/// first rule is on line 12, as the examples quote).
fn db_policy(g: &dyn Fn(&str) -> String, u: &dyn Fn(&str) -> String) -> String {
    format!(
        "[roles.db-admin]\n\
         description = \"Administer PostgreSQL\"\n\
         sudo = {{ runas = \"{pg}\", commands = [\"/usr/bin/psql\", \"/usr/bin/pg_dump\"] }}\n\
         groups = [\"{adm}\"]\n\
         default_duration = \"30m\"\n\
         max_duration = \"2h\"\n\
         \n\
         # db-admin: two of dba-leads approve.\n\
         # ops: one of ops-leads.\n\
         # (The examples quote the first rule's line, 12.)\n\
         \n\
         [[rules]]\n\
         role = \"db-admin\"\n\
         who = {{ groups = [\"{dba}\"] }}\n\
         approval = {{ count = 2, approvers = {{ groups = [\"{leads}\"] }} }}\n\
         \n\
         [[rules]]\n\
         role = \"ops\"\n\
         who = {{ groups = [\"{ops}\"] }}\n\
         approval = {{ count = 1, approvers = {{ groups = [\"{opsleads}\"] }} }}\n\
         \n\
         [roles.ops]\n\
         description = \"Restart services\"\n\
         sudo = {{ commands = [\"/usr/bin/systemctl status nginx\"] }}\n\
         actions = [\"/usr/bin/systemctl restart nginx\"]\n\
         default_duration = \"15m\"\n\
         max_duration = \"1h\"\n",
        adm = g("adm"),
        pg = u("postgres"),
        dba = g("dba"),
        leads = g("dba-leads"),
        ops = g("ops"),
        opsleads = g("ops-leads"),
    )
}

/// Builds the stage `name` describes; `named` holds the named TOML blocks
/// of the documentation (scenarios may start from one).
pub fn stage(name: &str, named: &BTreeMap<String, (TomlKind, Block)>) -> Result<Stage, String> {
    match name {
        "walkthrough" => walkthrough(named),
        "db" | "db-approving" | "db-denying" | "db-pending" | "db-half" | "db-active" => db(name),
        other => Err(format!("unknown scenario `{other}`")),
    }
}

fn new_stage(groups: &[&str], users: &[(&str, &[&str])], host: &str) -> Stage {
    let groups: BTreeMap<String, TestGroup> = groups
        .iter()
        .map(|g| {
            let tag: String = g
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(6)
                .collect();
            ((*g).to_owned(), TestGroup::new(&tag))
        })
        .collect();
    let users = users
        .iter()
        .map(|(name, of)| {
            let gs: Vec<&TestGroup> = of.iter().map(|g| &groups[*g]).collect();
            ((*name).to_owned(), TestUser::new(&name[..3], &gs))
        })
        .collect();
    let daemon = Daemon::new("").with_real_sudo();
    let cfg = std::fs::read_to_string(&daemon.config)
        .unwrap()
        .replace("name = \"testhost\"", &format!("name = \"{host}\""));
    daemon.file("elevated.toml", &cfg, 0o644);
    Stage {
        daemon,
        users,
        groups,
        ids: Vec::new(),
        default_user: "alice".to_owned(),
        approver: None,
    }
}

/// README's walkthrough: its policy block `walkthrough` (without its
/// `when`: the example must run at any hour), alice in group ops.
fn walkthrough(named: &BTreeMap<String, (TomlKind, Block)>) -> Result<Stage, String> {
    let (_, block) = named
        .get("walkthrough")
        .ok_or("no block named `walkthrough`")?;
    let mut s = new_stage(&["ops"], &[("alice", &["ops"])], "db1");
    let policy: String = block
        .lines
        .iter()
        .filter(|l| !l.trim_start().starts_with("when"))
        .map(|l| format!("{l}\n"))
        .collect();
    let ops = s.groups["ops"].name.clone();
    let policy = policy.replace("groups = [\"ops\"]", &format!("groups = [\"{ops}\"]"));
    s.daemon.policy("10-ops.toml", &policy);
    s.daemon.start();
    Ok(s)
}

/// docs/cli.md's db1: role db-admin needing two of dba-leads (bob, carol);
/// `db-approving`: bob and carol approve whatever is pending;
/// `db-denying`: bob denies it ("outside working hours");
/// `db-pending`: alice's request waits (reason and ticket INC-42);
/// `db-half`: the same, approved by bob; `db-active`: alice holds the
/// grant (approved by bob and carol) and waits for ops, which bob was
/// refused.
fn db(name: &str) -> Result<Stage, String> {
    let mut s = new_stage(DB_GROUPS, DB_USERS, "db1");
    let policy = db_policy(&|g| s.groups[g].name.clone(), &|u| s.users[u].name.clone());
    s.daemon.policy("10-db.toml", &policy);
    s.daemon.start();
    let wait = ["--reason", "INC-42 vacuum", "--ticket", "INC-42"];
    match name {
        "db-approving" => s.deciding(&["bob", "carol"], "approve", &[]),
        "db-denying" => s.deciding(&["bob"], "deny", &["--comment", "outside working hours"]),
        "db-pending" => {
            s.request("alice", "db-admin", &wait);
        }
        "db-half" => {
            let id = s.request("alice", "db-admin", &wait);
            s.approve(&id, &["bob"]);
        }
        "db-active" => {
            let id = s.request("alice", "db-admin", &wait);
            s.approve(&id, &["bob", "carol"]);
            let deadline = Instant::now() + Duration::from_secs(10);
            while !s
                .elevate_ok("alice", &["--json", "show", &id])
                .contains("\"active\"")
            {
                if Instant::now() > deadline {
                    return Err("db-active: the grant did not become active".into());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // alice waits for ops; bob, not in group ops, is refused it.
            s.request("alice", "ops", &[]);
            s.request("bob", "ops", &[]);
        }
        _ => {}
    }
    Ok(s)
}
