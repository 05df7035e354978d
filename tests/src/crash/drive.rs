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
use crate::daemon::elevate_command;
use crate::TestUser;

/// What a worker needs: the socket and the users (not the daemon, which
/// the killing thread owns meanwhile).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub socket: &'a Path,
    pub users: &'a [TestUser],
}

impl Ctx<'_> {
    /// Starts `call`; [`record`] reads its answer.
    fn start(&self, call: &Call) -> std::process::Child {
        let args: Vec<&str> = call.args.iter().map(String::as_str).collect();
        elevate_command(self.socket, call.who.map(|w| &self.users[w]), &args)
            .spawn()
            .unwrap()
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
    /// Two conflicting operations on one request, started at once.
    Race,
}

const OPS: [Op; 7] = [
    Op::Request,
    Op::Approve,
    Op::Deny,
    Op::Cancel,
    Op::Revoke,
    Op::Extend,
    Op::Race,
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
    fn weights(self) -> [u64; 7] {
        match self {
            Bias::None | Bias::Groups => [28, 14, 4, 8, 12, 22, 12],
            Bias::GroupEnds => [12, 10, 4, 8, 40, 20, 6],
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

/// What an answer acknowledges.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Request(Who, Role),
    /// An approval (`approval`) or denial (`denial`).
    Decide(&'static str),
    Cancel,
    Revoke,
    Extend,
}

/// One `elevate` invocation.
#[derive(Debug)]
struct Call {
    who: Option<Who>,
    args: Vec<String>,
    kind: Kind,
}

fn call(who: Option<Who>, args: &[&str], kind: Kind) -> Call {
    Call {
        who,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        kind,
    }
}

/// Runs random operations, a few milliseconds apart, until `shared.stop`
/// is set.
pub fn worker(ctx: Ctx<'_>, shared: &Shared, seed: u64, bias: Bias) {
    let mut rng = Rng::new(seed);
    while !shared.stop.load(Ordering::SeqCst) {
        let op = OPS[rng.weighted(&bias.weights())];
        let calls = plan(shared, &mut rng, op, bias);
        let children: Vec<_> = calls.iter().map(|c| ctx.start(c)).collect();
        for (c, child) in calls.iter().zip(children) {
            record(shared, c.kind, &child.wait_with_output().unwrap());
        }
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

fn decide(rng: &mut Rng, k: &Known, verb: &str, not: Option<Who>) -> Call {
    let others: Vec<Who> = APPROVERS
        .iter()
        .copied()
        .filter(|a| *a != k.user && Some(*a) != not)
        .collect();
    let event = if verb == "approve" {
        "approval"
    } else {
        "denial"
    };
    call(
        Some(*rng.pick(&others)),
        &["--json", verb, &k.id],
        Kind::Decide(event),
    )
}

fn extend(rng: &mut Rng, k: &Known) -> Call {
    let secs = format!("{}s", rng.range(1, 2));
    let args = ["--json", "extend", &k.id, "--for", &secs, "--no-wait"];
    call(Some(k.user), &args, Kind::Extend)
}

fn revoke(by: Option<Who>, k: &Known) -> Call {
    call(by, &["--json", "revoke", &k.id], Kind::Revoke)
}

fn cancel(k: &Known) -> Call {
    call(Some(k.user), &["--json", "cancel", &k.id], Kind::Cancel)
}

fn plan(shared: &Shared, rng: &mut Rng, op: Op, bias: Bias) -> Vec<Call> {
    if let Op::Request = op {
        let who = *rng.pick(&REQUESTERS);
        let role = role_for(rng, bias);
        let secs = format!("{}s", rng.range(1, 3));
        let args = [
            "--json",
            "request",
            role.name(),
            "--for",
            &secs,
            "--no-wait",
        ];
        return vec![call(Some(who), &args, Kind::Request(who, role))];
    }
    let approval = matches!(op, Op::Approve | Op::Deny);
    let Some(k) = recent(shared, rng, |k| !approval || k.role.needs_approval()) else {
        return Vec::new();
    };
    match op {
        Op::Request => Vec::new(),
        Op::Approve => vec![decide(rng, &k, "approve", None)],
        Op::Deny => vec![decide(rng, &k, "deny", None)],
        Op::Cancel => vec![cancel(&k)],
        // The holder or root.
        Op::Revoke => vec![revoke(rng.chance(50).then_some(k.user), &k)],
        Op::Extend => vec![extend(rng, &k)],
        Op::Race => match rng.below(5) {
            0 => vec![decide(rng, &k, "approve", None), cancel(&k)],
            1 => {
                let first = decide(rng, &k, "approve", None);
                let second = decide(rng, &k, "deny", first.who);
                vec![first, second]
            }
            2 => vec![extend(rng, &k), revoke(None, &k)],
            3 => vec![revoke(Some(k.user), &k), revoke(None, &k)],
            _ => vec![extend(rng, &k), extend(rng, &k)],
        },
    }
}

/// Records what an answer acknowledged.
fn record(shared: &Shared, kind: Kind, out: &Output) {
    let Some((id, state)) = view(out) else {
        return;
    };
    let code = out.status.code();
    if let Kind::Request(user, role) = kind {
        shared.known.lock().unwrap().push(Known {
            id: id.clone(),
            user,
            role,
        });
    }
    let mut acks = shared.acks.lock().unwrap();
    match kind {
        Kind::Request(..) => {
            acks.event(&id, "requested");
            match state.as_str() {
                "active" => acks.event(&id, "granted"),
                "pending" => acks.event(&id, "pending"),
                _ => {}
            }
        }
        Kind::Decide(event) if code == Some(0) => {
            acks.event(&id, event);
            if state == "denied" {
                acks.finals.insert(id, state);
            }
        }
        Kind::Cancel if code == Some(0) => {
            if state == "cancelled" {
                acks.event(&id, "cancelled");
                acks.finals.insert(id, state);
            } else {
                acks.event(&id, "extension_cancelled");
            }
        }
        Kind::Revoke if code == Some(0) => {
            acks.event(&id, "revoked");
            acks.finals.insert(id, state);
        }
        // 0: extended; 3: the extension waits for approval.
        Kind::Extend if matches!(code, Some(0 | 3)) => acks.event(&id, "extension_asked"),
        _ => return,
    }
    acks.total += 1;
}
