//! One campaign: cycles of start (sometimes with a fault point armed),
//! random traffic, SIGKILL (from the campaign thread at a random moment,
//! or by the daemon itself at the armed point), restart unarmed, check.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::check::{now_ms, real_visudo, violations};
use super::drive::{worker, Bias, Ctx, Shared};
use super::rng::Rng;
use super::world::World;

/// Every fault point the daemon knows (daemon/src/fault.rs).
pub const POINTS: [&str; 6] = [
    "before_sudoers_rename",
    "after_sudoers_rename",
    "after_gpasswd",
    "after_dropin_remove",
    "after_gpasswd_remove",
    "after_store_commit",
];

/// Marks the daemon's own fault kill in its log.
const FAULT_LINE: &str = "fault injection: SIGKILL at ";

/// Threads sending traffic at once.
const WORKERS: u64 = 2;

/// Violating cycles after which the campaign gives up (the later ones
/// mostly repeat the first).
const MAX_BAD_CYCLES: usize = 5;

/// What a campaign did and found.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub cycles: u64,
    /// Kills sent by the campaign at a random moment.
    pub random_kills: u64,
    /// Of those, cycles whose armed point was not reached in time.
    pub armed_unfired: u64,
    /// Kills by the daemon itself, by fault point.
    pub fault_kills: BTreeMap<String, u64>,
    /// Operations sent and transitions acknowledged.
    pub ops: u64,
    pub acks: u64,
    /// (cycle, what was wrong).
    pub violations: Vec<(u64, String)>,
    pub wall: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let faults: u64 = self.fault_kills.values().sum();
        writeln!(
            f,
            "crash campaign: seed {} ({} cycles in {:.1}s)",
            self.seed,
            self.cycles,
            self.wall.as_secs_f64()
        )?;
        writeln!(
            f,
            "  kills: {} random ({} with an armed point not reached), {faults} at fault points {:?}",
            self.random_kills, self.armed_unfired, self.fault_kills
        )?;
        writeln!(
            f,
            "  traffic: {} operations, {} acknowledged transitions",
            self.ops, self.acks
        )?;
        write!(f, "  violations: {}", self.violations.len())
    }
}

/// The daemon's log from `offset` on.
fn log_from(world: &World, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(&world.d.log) {
        let _ = f.seek(SeekFrom::Start(offset));
        let _ = f.read_to_string(&mut text);
    }
    text
}

fn log_len(world: &World) -> u64 {
    std::fs::metadata(&world.d.log).map_or(0, |m| m.len())
}

/// The point the daemon says it killed itself at, if its log from
/// `offset` on says so.
fn fault_fired(world: &World, offset: u64) -> Option<String> {
    let log = log_from(world, offset);
    let at = log.find(FAULT_LINE)? + FAULT_LINE.len();
    log[at..].split_whitespace().next().map(str::to_owned)
}

/// Downtime bookkeeping: when the daemon stopped running, and the
/// intervals it was away (for the expiry bound).
#[derive(Default)]
struct Downtime {
    since: Option<i64>,
    intervals: Vec<(i64, i64)>,
}

impl Downtime {
    fn down(&mut self, at: i64) {
        self.since.get_or_insert(at);
    }

    fn back(&mut self) {
        if let Some(since) = self.since.take() {
            self.intervals.push((since, now_ms()));
        }
    }
}

/// The fault point a cycle arms, if any: each point once in the first
/// cycles, so each is exercised; then a random one in half the cycles.
fn plan_fault(rng: &mut Rng, cycle: u64) -> Option<(&'static str, u64)> {
    if let Some(p) = POINTS.get(cycle as usize) {
        return Some((*p, 1));
    }
    if !rng.chance(50) {
        return None;
    }
    let p = *rng.pick(&POINTS);
    let n = if p == "after_store_commit" {
        rng.range(1, 12)
    } else {
        rng.range(1, 2)
    };
    Some((p, n))
}

/// Traffic until the window ends (then SIGKILL) or the daemon kills itself.
fn drive(
    world: &mut World,
    shared: &Shared,
    seeds: &[u64],
    bias: Bias,
    window: Duration,
    down: &mut Downtime,
) {
    shared.stop.store(false, Ordering::SeqCst);
    let World { d, users, .. } = world;
    let socket = d.socket.clone();
    let ctx = Ctx {
        socket: &socket,
        users,
    };
    std::thread::scope(|s| {
        for seed in seeds {
            s.spawn(move || worker(ctx, shared, *seed, bias));
        }
        let t = Instant::now();
        let mut alive = now_ms();
        while t.elapsed() < window && d.running() {
            alive = now_ms();
            std::thread::sleep(Duration::from_millis(5));
        }
        // What is in flight now is cut off by the kill.
        if d.running() {
            down.down(now_ms());
            d.kill();
        } else {
            down.down(alive);
        }
        shared.stop.store(true, Ordering::SeqCst);
    });
}

/// Runs `cycles` kill cycles from `seed`. Prints the seed first, so a
/// failing run can be replayed.
pub fn run(seed: u64, cycles: u64) -> Report {
    eprintln!("crash campaign: seed {seed} (replay with ELEVATED_CRASH_SEED={seed})");
    let started = Instant::now();
    let mut world = World::new();
    let mut rng = Rng::new(seed);
    let shared = Shared::default();
    let mut report = Report {
        seed,
        ..Report::default()
    };
    if let Err(e) = real_visudo() {
        report
            .violations
            .push((0, format!("visudo -c before the campaign: {e}")));
    }
    // ELEVATED_CRASH_TRACE=1: a line per cycle; =N: also cycle N's log.
    let trace = std::env::var("ELEVATED_CRASH_TRACE").ok();
    let quiet = [(
        "ELEVATED_LOG",
        if trace.is_some() { "debug" } else { "info" },
    )];
    let mut down = Downtime::default();
    down.down(now_ms());
    let mut serving = false;
    let mut bad_cycles = 0;
    for cycle in 0..cycles {
        report.cycles += 1;
        let fault = plan_fault(&mut rng, cycle);
        let window = Duration::from_millis(match fault {
            // Long enough for the point to be reached (the kill ends it).
            Some(_) if (cycle as usize) < POINTS.len() => 15_000,
            Some(_) => rng.range(150, 900),
            None => rng.range(20, 400),
        });
        let bias = match fault {
            Some(("after_gpasswd", _)) => Bias::Groups,
            Some(("after_gpasswd_remove", _)) => Bias::GroupEnds,
            _ => Bias::None,
        };
        let seeds: Vec<u64> = (0..WORKERS).map(|_| rng.next_u64()).collect();
        let offset = log_len(&world);
        let mut early = None;
        if fault.is_some() || !serving {
            down.down(now_ms());
            world.d.stop();
            let spec = fault.map(|(p, n)| format!("{p}:{n}")).unwrap_or_default();
            let mut env = quiet.to_vec();
            if fault.is_some() {
                env.push(("ELEVATED_FAULT", spec.as_str()));
            }
            early = world.d.try_start_with(&[], &env).err();
            if early.is_none() {
                down.back();
            }
        }
        if early.is_none() {
            drive(&mut world, &shared, &seeds, bias, window, &mut down);
        }
        let died = world.d.exited().or(early);
        match fault_fired(&world, offset) {
            Some(point) => {
                *report.fault_kills.entry(point).or_default() += 1;
            }
            None => {
                if let Some(status) = died.filter(|s| s.signal() != Some(9)) {
                    report.violations.push((
                        cycle,
                        format!(
                            "elevated exited with {status}:\n{}",
                            log_from(&world, offset)
                        ),
                    ));
                }
                report.random_kills += 1;
                report.armed_unfired += u64::from(fault.is_some());
            }
        }
        world.d.kill();
        if let Err(status) = world.d.try_start_with(&[], &quiet) {
            report.violations.push((
                cycle,
                format!(
                    "elevated did not come back ({status}):\n{}",
                    log_from(&world, offset)
                ),
            ));
            break;
        }
        down.back();
        serving = true;
        let back = now_ms();
        let checked = Instant::now();
        // What an earlier cycle reported (the audit log keeps it) is not
        // reported again.
        let acks = shared.acks.lock().unwrap();
        let found: Vec<String> = violations(&world, &acks, back, &down.intervals)
            .into_iter()
            .filter(|v| !report.violations.iter().any(|(_, old)| old == v))
            .collect();
        drop(acks);
        if let Some(trace) = &trace {
            eprintln!(
                "cycle {cycle}: fault {fault:?}, window {window:?}, check {:?}, at {:.1}s",
                checked.elapsed(),
                started.elapsed().as_secs_f64()
            );
            if trace == &cycle.to_string() {
                eprintln!("{}", log_from(&world, offset));
            }
        }
        if !found.is_empty() {
            bad_cycles += 1;
            eprintln!(
                "crash campaign: cycle {cycle} (fault {fault:?}): {} violations:\n{}\n--- daemon log of the cycle ---\n{}",
                found.len(),
                found.join("\n"),
                log_from(&world, offset)
            );
            report
                .violations
                .extend(found.into_iter().map(|v| (cycle, v)));
            if bad_cycles >= MAX_BAD_CYCLES {
                break;
            }
        }
    }
    world.d.stop();
    if let Err(e) = real_visudo() {
        report
            .violations
            .push((report.cycles, format!("visudo -c after the campaign: {e}")));
    }
    report.ops = shared.ops.load(Ordering::SeqCst);
    report.acks = shared.acks.lock().unwrap().total;
    report.wall = started.elapsed();
    report
}
