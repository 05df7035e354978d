//! Random traffic against the daemon, from worker threads, as the test
//! users through the real `elevate`. Every transition the daemon
//! acknowledged (an answer naming the request and its state) is recorded,
//! so the checks can demand it from the audit log after a crash.

use std::collections::BTreeMap;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use std::path::Path;

use super::rng::Rng;
use super::world::{Role, Who, APPROVERS, REQUESTERS};
use crate::daemon::elevate_at;
use crate::TestUser;

/// What a worker needs: the socket and the users (not the daemon, which
/// the killing thread owns meanwhile).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub socket: &'a Path,
    pub users: &'a [TestUser],
}

impl Ctx<'_> {
    fn elevate(&self, who: Option<Who>, args: &[&str]) -> Output {
        elevate_at(self.socket, who.map(|w| &self.users[w]), args)
    }
}

/// A request the traffic knows about.
#[derive(Debug, Clone)]
pub struct Known {
    pub id: String,
    pub user: Who,
    pub role: Role,
}

/// What the daemon acknowledged to clients.
#[derive(Debug, Default)]
pub struct Acks {
    /// (request id, audit event) -> how many times acknowledged.
    pub events: BTreeMap<(String, String), u32>,
    /// Request id -> the final state a client was told it reached.
    pub finals: BTreeMap<String, String>,
    /// Acknowledged answers in all.
    pub total: u64,
}

impl Acks {
    fn event(&mut self, id: &str, event: &str) {
        *self
            .events
            .entry((id.to_owned(), event.to_owned()))
            .or_default() += 1;
    }
}

/// State shared by the workers of one drive phase (and, for `known` and
/// `acks`, by the whole campaign).
#[derive(Default)]
pub struct Shared {
    pub known: Mutex<Vec<Known>>,
    pub acks: Mutex<Acks>,
    pub stop: AtomicBool,
    pub ops: AtomicU64,
}

/// How many recent requests the traffic picks from.
const RECENT: usize = 24;

#[derive(Debug, Clone, Copy)]
enum Op {
    Request,
    Approve,
    Deny,
    Cancel,
    Revoke,
    Extend,
}

const OPS: [Op; 6] = [
    Op::Request,
    Op::Approve,
    Op::Deny,
    Op::Cancel,
    Op::Revoke,
    Op::Extend,
];

/// What the traffic leans towards, so that an armed fault point is
/// reached within the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bias {
    /// The plain mix.
    None,
    /// Group roles for most requests (memberships being added).
    Groups,
    /// Group roles, fewer requests and more revocations: a membership is
    /// only taken back when no other grant of the user still owes it.
    GroupEnds,
}

impl Bias {
    /// Weights of [`OPS`].
    fn weights(self) -> [u64; 6] {
        match self {
            Bias::None | Bias::Groups => [30, 16, 5, 10, 14, 25],
            Bias::GroupEnds => [12, 10, 5, 10, 40, 23],
        }
    }
}

fn role_for(rng: &mut Rng, bias: Bias) -> Role {
    if bias != Bias::None && rng.chance(80) {
        *rng.pick(&[Role::Group, Role::GroupApproved])
    } else {
        *rng.pick(&Role::ALL)
    }
}

/// The request view in an answer, if the daemon gave one.
fn view(out: &Output) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let id = v.get("id")?.as_str()?.to_owned();
    let state = v.get("state")?.as_str()?.to_owned();
    Some((id, state))
}

/// Runs random operations, a few milliseconds apart, until `shared.stop`
/// is set.
pub fn worker(ctx: Ctx<'_>, shared: &Shared, seed: u64, bias: Bias) {
    let mut rng = Rng::new(seed);
    while !shared.stop.load(Ordering::SeqCst) {
        let op = OPS[rng.weighted(&bias.weights())];
        one(ctx, shared, &mut rng, op, bias);
        shared.ops.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(rng.below(30)));
    }
}

fn recent(shared: &Shared, rng: &mut Rng, filter: impl Fn(&Known) -> bool) -> Option<Known> {
    let known = shared.known.lock().unwrap();
    let pool: Vec<&Known> = known
        .iter()
        .rev()
        .take(RECENT)
        .filter(|k| filter(k))
        .collect();
    if pool.is_empty() {
        return None;
    }
    Some((*rng.pick(&pool)).clone())
}

fn one(d: Ctx<'_>, shared: &Shared, rng: &mut Rng, op: Op, bias: Bias) {
    match op {
        Op::Request => {
            let who = *rng.pick(&REQUESTERS);
            let role = role_for(rng, bias);
            let secs = format!("{}s", rng.range(1, 3));
            let out = d.elevate(
                Some(who),
                &[
                    "--json",
                    "request",
                    role.name(),
                    "--for",
                    &secs,
                    "--no-wait",
                ],
            );
            let Some((id, state)) = view(&out) else {
                return;
            };
            shared.known.lock().unwrap().push(Known {
                id: id.clone(),
                user: who,
                role,
            });
            let mut acks = shared.acks.lock().unwrap();
            acks.total += 1;
            acks.event(&id, "requested");
            match state.as_str() {
                "active" => acks.event(&id, "granted"),
                "pending" => acks.event(&id, "pending"),
                _ => {}
            }
        }
        Op::Approve | Op::Deny => {
            let Some(k) = recent(shared, rng, |k| k.role.needs_approval()) else {
                return;
            };
            let others: Vec<Who> = APPROVERS.iter().copied().filter(|a| *a != k.user).collect();
            let approver = *rng.pick(&others);
            let (verb, event) = match op {
                Op::Approve => ("approve", "approval"),
                _ => ("deny", "denial"),
            };
            let out = d.elevate(Some(approver), &["--json", verb, &k.id]);
            if out.status.success() {
                if let Some((id, state)) = view(&out) {
                    let mut acks = shared.acks.lock().unwrap();
                    acks.total += 1;
                    acks.event(&id, event);
                    if state == "denied" {
                        acks.finals.insert(id, state);
                    }
                }
            }
        }
        Op::Cancel => {
            let Some(k) = recent(shared, rng, |_| true) else {
                return;
            };
            let out = d.elevate(Some(k.user), &["--json", "cancel", &k.id]);
            if let (true, Some((id, state))) = (out.status.success(), view(&out)) {
                let mut acks = shared.acks.lock().unwrap();
                acks.total += 1;
                if state == "cancelled" {
                    acks.event(&id, "cancelled");
                    acks.finals.insert(id, state);
                } else {
                    acks.event(&id, "extension_cancelled");
                }
            }
        }
        Op::Revoke => {
            let Some(k) = recent(shared, rng, |_| true) else {
                return;
            };
            // The holder or root.
            let by = if rng.chance(50) { Some(k.user) } else { None };
            let out = d.elevate(by, &["--json", "revoke", &k.id]);
            if let (true, Some((id, state))) = (out.status.success(), view(&out)) {
                let mut acks = shared.acks.lock().unwrap();
                acks.total += 1;
                acks.event(&id, "revoked");
                acks.finals.insert(id, state);
            }
        }
        Op::Extend => {
            let Some(k) = recent(shared, rng, |_| true) else {
                return;
            };
            let secs = format!("{}s", rng.range(1, 2));
            let out = d.elevate(
                Some(k.user),
                &["--json", "extend", &k.id, "--for", &secs, "--no-wait"],
            );
            // 0: extended; 3: the extension waits for approval.
            if let (Some(0 | 3), Some((id, _))) = (out.status.code(), view(&out)) {
                let mut acks = shared.acks.lock().unwrap();
                acks.total += 1;
                acks.event(&id, "extension_asked");
            }
        }
    }
}
