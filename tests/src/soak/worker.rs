//! The worker process: runs the client threads of one plan and reports.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{hold, hostile, valid, Ctx, Kind, Plan, Rng, Tally};

/// The worker program: parses its plan, runs the client threads and
/// prints the merged tally as one JSON line.
pub fn worker_main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan = match Plan::parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("soak worker: {e}");
            return 2;
        }
    };
    if plan.kind == Kind::Hold {
        return hold::hold(&plan);
    }
    let end = Instant::now() + Duration::from_secs(plan.seconds);
    let total = Arc::new(Mutex::new(Tally::default()));
    let mut handles = Vec::new();
    for index in 0..plan.threads {
        let (plan, total) = (plan.clone(), total.clone());
        let h = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let mut ctx = Ctx {
                    rng: Rng::new((u64::from(std::process::id()) << 16) + index as u64),
                    plan,
                    tally: Tally::default(),
                    end,
                    index,
                };
                run_thread(&mut ctx);
                let mine = std::mem::take(&mut ctx.tally);
                total.lock().unwrap().merge(mine);
            });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                eprintln!("soak worker: thread {index}: {e}");
                return 1;
            }
        }
    }
    for h in handles {
        let _ = h.join();
    }
    let tally = std::mem::take(&mut *total.lock().unwrap());
    let line = serde_json::to_string(&tally).unwrap();
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    0
}

fn run_thread(ctx: &mut Ctx) {
    // Spread the start so a thousand threads do not connect in one burst.
    let spread = 1 + ctx.plan.seconds.min(3) * 1000;
    ctx.rng.pause(0, spread);
    while !ctx.over() {
        match ctx.plan.kind {
            Kind::Reader => valid::reader(ctx),
            Kind::Auto => valid::auto(ctx),
            Kind::Requester => valid::requester(ctx),
            Kind::Approver => valid::approver(ctx),
            Kind::Flood => valid::flood(ctx),
            Kind::Hostile => hostile::one(ctx),
            Kind::Hold => return,
        }
    }
}
