//! Valid clients. Each function is one session: a connection carrying a
//! few requests with pauses between them, as a person or a script would.
//! Every request is counted in the tally with whether its answer was the
//! right kind.

use elevated_proto::{
    AuditQuery, DecideOn, ErrorCode, GrantId, ListFilter, NewRequest, Request, RequestState,
    RequestView, Response, RoleName, WaitFor,
};

use super::{Ctx, Session};

/// Role names the soak's policy defines.
pub const AUTO: &str = "soak-auto";
pub const GATED: &str = "soak-gated";
/// The flood roles are `soak-flood-0` .. `soak-flood-{FLOOD_ROLES - 1}`:
/// one user holds at most one pending request per role, so reaching the
/// per-user pending limit takes more roles than the limit.
pub const FLOOD: &str = "soak-flood";
/// How many flood roles there are (more than the pending limit, 5).
pub const FLOOD_ROLES: u64 = 8;

/// The name of flood role `i`.
pub fn flood_role(i: u64) -> String {
    format!("{FLOOD}-{i}")
}

fn role(name: &str) -> RoleName {
    RoleName::parse(name).unwrap()
}

fn gid(id: &str) -> GrantId {
    GrantId::parse(id).unwrap()
}

fn view(r: &Result<Response, String>) -> Option<&RequestView> {
    match r {
        Ok(Response::Request { request }) => Some(request),
        _ => None,
    }
}

fn views(r: &Result<Response, String>) -> Option<&Vec<RequestView>> {
    match r {
        Ok(Response::Requests { requests, .. }) => Some(requests),
        _ => None,
    }
}

/// The daemon refusing a second grant (or pending request) of a role the
/// user already has: the right answer when another thread of the same
/// user got there first.
fn held(r: &Result<Response, String>) -> bool {
    error_with(r, ErrorCode::Conflict, "you already")
}

/// An error answer with this code whose message contains `text`.
fn error_with(r: &Result<Response, String>, want: ErrorCode, text: &str) -> bool {
    matches!(r, Ok(Response::Error { code, message }) if *code == want && message.contains(text))
}

fn ask(role_name: &str, secs: u64, reason: &str) -> Request {
    Request::Request(NewRequest {
        role: role(role_name),
        duration_secs: Some(secs),
        command: None,
        reason: Some(reason.to_owned()),
        ticket: None,
    })
}

/// Read-only traffic: ping, status, roles, list, show, audit.
pub fn reader(ctx: &mut Ctx) {
    let mut s = Session::new();
    let me = ctx.plan.user.clone();
    let root = me == "root";
    let mut known: Option<String> = None;
    for _ in 0..1 + ctx.rng.below(6) {
        if ctx.over() {
            break;
        }
        match ctx.rng.below(100) {
            0..25 => {
                let r = s.call(ctx, Request::Ping {});
                let ok = matches!(&r, Ok(Response::Pong { host, .. }) if *host == ctx.plan.host);
                ctx.tally.check("ping", &r, ok);
            }
            25..45 => {
                let r = s.call(ctx, Request::Status {});
                let ok = views(&r).is_some_and(|v| v.iter().all(|v| v.user == me));
                ctx.tally.check("status", &r, ok);
            }
            45..65 => {
                let r = s.call(ctx, Request::Roles {});
                let ok = matches!(&r, Ok(Response::Roles { host, roles })
                    if *host == ctx.plan.host
                        && [AUTO, GATED].iter().all(|n| roles.iter().any(|o| o.role == *n))
                        && roles.iter().any(|o| o.role == flood_role(0)));
                ctx.tally.check("roles", &r, ok);
            }
            65..80 => {
                let r = s.call(ctx, list(true));
                let ok = views(&r).is_some_and(|v| {
                    v.iter()
                        .all(|v| v.state == RequestState::Pending || v.extension_secs.is_some())
                });
                ctx.tally.check("list --pending", &r, ok);
                known = views(&r).and_then(|v| v.first()).map(|v| v.id.clone());
            }
            80..90 => {
                let r = s.call(ctx, list(false));
                let ok = views(&r).is_some_and(|v| {
                    v.iter().all(|v| {
                        matches!(v.state, RequestState::Pending | RequestState::Active)
                            && (root || v.user == me)
                    })
                });
                ctx.tally.check("list", &r, ok);
                known = views(&r)
                    .and_then(|v| v.last())
                    .map(|v| v.id.clone())
                    .or(known);
            }
            90..97 => {
                // What `elevate audit` asks (no limit: the daemon's 1000, or
                // as many of the newest as fit in one answer), or a page.
                let limit = (ctx.rng.below(2) == 0).then_some(20);
                let r = s.call(ctx, Request::Audit(AuditQuery { since: None, limit }));
                let ok = matches!(&r, Ok(Response::Audit { rows, .. })
                    if rows.len() <= limit.map_or(1000, |l| l as usize)
                        && rows.windows(2).all(|w| w[0].seq < w[1].seq));
                ctx.tally.check("audit", &r, ok);
            }
            97..99 => {
                let all = Request::List(ListFilter {
                    pending: false,
                    all: true,
                    unreviewed: false,
                });
                let r = s.call(ctx, all);
                let ok = views(&r).is_some_and(|v| v.iter().all(|v| root || v.user == me));
                ctx.tally.check("list --all", &r, ok);
            }
            _ if root => {
                let r = s.call(ctx, Request::AuditVerify {});
                // One verification at a time per user: root's other
                // clients are told so while one runs.
                let ok = matches!(&r, Ok(Response::AuditVerify { ok: true, .. }))
                    || matches!(&r, Ok(Response::Error { code: ErrorCode::Limit, message })
                        if message.contains("one at a time per user"));
                ctx.tally.check("audit --verify", &r, ok);
            }
            _ => {}
        }
        if let Some(id) = known.take().filter(|_| ctx.rng.below(3) == 0) {
            let r = s.call(ctx, Request::Show { id: gid(&id) });
            let ok = view(&r).is_some_and(|v| v.id == id);
            ctx.tally.check("show", &r, ok);
        }
        ctx.rng.pause(100, 800);
    }
}

fn list(pending: bool) -> Request {
    Request::List(ListFilter {
        pending,
        all: false,
        unreviewed: false,
    })
}

/// An automatically approved grant: its drop-in must exist when the answer
/// comes, and be gone when a revocation is answered. Short grants are left
/// to expire on the daemon's timer.
pub fn auto(ctx: &mut Ctx) {
    let mut s = Session::new();
    let me = ctx.plan.user.clone();
    let long = ctx.rng.below(2) == 0;
    let secs = if long { 120 } else { 3 + ctx.rng.below(6) };
    let r = s.call(ctx, ask(AUTO, secs, "soak: automatic grant"));
    // Another thread of this user holds the role: refused, naming it.
    if held(&r) {
        ctx.tally.raced += 1;
        ctx.tally.check("request (automatic)", &r, true);
        return;
    }
    let dir = ctx.plan.sudoers.clone();
    let dropin = |v: &RequestView| dir.join(format!("elevated_{}", v.id));
    // The drop-in is there, unless the window already ended (this thread
    // may be scheduled late on a loaded machine) and the timer removed it.
    let ended = |v: &RequestView| {
        v.expires_at
            .as_deref()
            .and_then(|e| e.parse::<jiff::Timestamp>().ok())
            .is_some_and(|end| jiff::Timestamp::now() >= end)
    };
    let ok = view(&r).is_some_and(|v| {
        v.state == RequestState::Active
            && v.user == me
            && v.role == AUTO
            && (dropin(v).exists() || ended(v))
    });
    ctx.tally.check("request (automatic)", &r, ok);
    let Some(v) = view(&r).filter(|_| ok).cloned() else {
        return;
    };
    ctx.tally.requested.insert(v.id.clone());
    ctx.tally.activated.insert(v.id.clone());
    ctx.rng.pause(100, 500);
    let r = s.call(ctx, Request::Status {});
    let ok = views(&r).is_some_and(|all| {
        all.iter().all(|x| x.user == me) && (!long || all.iter().any(|x| x.id == v.id))
    });
    ctx.tally.check("status", &r, ok);
    ctx.rng.pause(100, 500);
    let r = s.call(ctx, Request::Show { id: gid(&v.id) });
    let ok = view(&r).is_some_and(|x| {
        x.id == v.id && (x.state == RequestState::Active || !long && x.state.is_final())
    });
    ctx.tally.check("show", &r, ok);
    if long {
        ctx.rng.pause(100, 500);
        let r = s.call(ctx, Request::Revoke { id: gid(&v.id) });
        let ok = view(&r).is_some_and(|x| x.state == RequestState::Revoked && !dropin(x).exists());
        ctx.tally.check("revoke", &r, ok);
    }
    ctx.rng.pause(100, 500);
}

/// A request that needs an approver: wait for the decision (the daemon
/// holds each wait open), revoke the grant if approved, withdraw the
/// request if the run ends first.
pub fn requester(ctx: &mut Ctx) {
    let mut s = Session::new();
    let me = ctx.plan.user.clone();
    let r = s.call(ctx, ask(GATED, 600, "soak: needs approval"));
    // Another thread of this user has the role pending (or granted).
    if held(&r) {
        ctx.tally.raced += 1;
        ctx.tally.check("request (needs approval)", &r, true);
        return;
    }
    let ok = view(&r)
        .is_some_and(|v| v.state == RequestState::Pending && v.user == me && v.role == GATED);
    ctx.tally.check("request (needs approval)", &r, ok);
    let Some(id) = view(&r).filter(|_| ok).map(|v| v.id.clone()) else {
        return;
    };
    ctx.tally.requested.insert(id.clone());
    let mut state = RequestState::Pending;
    while state == RequestState::Pending && !ctx.over() {
        let wait = Request::Wait(WaitFor {
            id: gid(&id),
            timeout_ms: 5_000,
        });
        let r = s.call(ctx, wait);
        let ok = view(&r).is_some_and(|v| {
            v.id == id
                && matches!(
                    v.state,
                    RequestState::Pending | RequestState::Active | RequestState::Denied
                )
        });
        ctx.tally.check("wait", &r, ok);
        match view(&r).filter(|_| ok) {
            Some(v) => state = v.state,
            None => return,
        }
    }
    if state == RequestState::Pending {
        let r = s.call(ctx, Request::Cancel { id: gid(&id) });
        let cancelled = view(&r).is_some_and(|v| v.state == RequestState::Cancelled);
        // An approver may decide between the last wait and the withdrawal.
        let raced = error_with(&r, ErrorCode::BadRequest, "so it cannot be cancelled");
        ctx.tally.raced += u64::from(raced);
        ctx.tally.check("cancel", &r, cancelled || raced);
        if !raced {
            return;
        }
        let r = s.call(ctx, Request::Show { id: gid(&id) });
        let ok = view(&r)
            .is_some_and(|v| v.id == id && (v.state.is_final() || v.state == RequestState::Active));
        ctx.tally.check("show", &r, ok);
        state = view(&r).map_or(state, |v| v.state);
    }
    if state == RequestState::Active {
        ctx.tally.activated.insert(id.clone());
        ctx.rng.pause(100, 500);
        let r = s.call(ctx, Request::Revoke { id: gid(&id) });
        let ok = view(&r).is_some_and(|v| v.state == RequestState::Revoked);
        ctx.tally.check("revoke", &r, ok);
    }
}

/// Decides what is pending: approves two in three, denies the rest. Two
/// approvers (two threads each) look at the same requests, so some
/// decisions lose the race; the loser must get a clear error.
pub fn approver(ctx: &mut Ctx) {
    let mut s = Session::new();
    let me = ctx.plan.user.clone();
    for _ in 0..5 {
        if ctx.over() {
            break;
        }
        let r = s.call(ctx, list(true));
        let ok = views(&r).is_some_and(|v| v.iter().all(|v| v.state == RequestState::Pending));
        ctx.tally.check("list --pending", &r, ok);
        let mut todo: Vec<String> = views(&r)
            .map(|v| {
                v.iter()
                    .filter(|v| v.role == GATED && v.user != me)
                    .map(|v| v.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        // Different threads start at different places in the list.
        let turn = usize::try_from(ctx.rng.below(todo.len().max(1) as u64)).unwrap_or(0);
        todo.rotate_left(turn);
        for id in todo.into_iter().take(3) {
            let approve = ctx.rng.below(3) < 2;
            let (id_, comment) = (gid(&id), Some("soak".to_owned()));
            let req = if approve {
                Request::Approve(DecideOn {
                    id: id_,
                    comment,
                    signature: None,
                })
            } else {
                Request::Deny(DecideOn {
                    id: id_,
                    comment,
                    signature: None,
                })
            };
            let r = s.call(ctx, req);
            let want = if approve {
                RequestState::Active
            } else {
                RequestState::Denied
            };
            let decided = view(&r).is_some_and(|v| v.id == id && v.state == want);
            let raced = error_with(&r, ErrorCode::BadRequest, "there is nothing to decide")
                || error_with(&r, ErrorCode::BadRequest, "already decided")
                || error_with(
                    &r,
                    ErrorCode::BadRequest,
                    "changed while this was being decided",
                );
            ctx.tally.raced += u64::from(raced);
            ctx.tally.check(
                if approve { "approve" } else { "deny" },
                &r,
                decided || raced,
            );
            if decided && approve {
                ctx.tally.activated.insert(id);
            }
        }
        ctx.rng.pause(100, 400);
    }
}

/// One user filing pending requests without end: each gets either a
/// pending request or the clear per-user limit error.
pub fn flood(ctx: &mut Ctx) {
    let mut s = Session::new();
    for _ in 0..3 {
        if ctx.over() {
            break;
        }
        let name = flood_role(ctx.rng.below(FLOOD_ROLES));
        let r = s.call(ctx, ask(&name, 60, "soak: flood"));
        let pending = view(&r).is_some_and(|v| v.state == RequestState::Pending && v.role == name);
        let limited = error_with(&r, ErrorCode::Limit, "pending requests");
        ctx.tally.limited += u64::from(limited);
        let again = held(&r);
        ctx.tally.raced += u64::from(again);
        ctx.tally
            .check("request (flood)", &r, pending || limited || again);
        if let Some(v) = view(&r).filter(|_| pending) {
            ctx.tally.requested.insert(v.id.clone());
        }
        ctx.rng.pause(20, 200);
    }
}
