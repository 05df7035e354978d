//! 6. Scale: many active grants with spread ends (revocation lag, memory),
//!    then restart-to-ready with a large audit log. A hermetic drop-in
//!    directory: the real sudo does not read ten thousand files here.

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use elevated_proto::{Client, NewRequest, Request, Response, RoleName, Timeouts};
use elevated_tests::{bin, Daemon};
use jiff::Timestamp;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::stats::{ms, ratio, row, summary, HEADER};
use crate::Size;

const POLICY: &str = "[roles.scale]\nsudo = { commands = [\"/usr/bin/true\"], nopasswd = true }\n\
    max_duration = \"8h\"\n\n[roles.closed]\nsudo = { commands = [\"/usr/bin/true\"] }\n\n\
    [[rules]]\nrole = \"scale\"\nwho = { users = [\"root\"] }\n\n\
    [[rules]]\nrole = \"closed\"\neffect = \"deny\"\n";

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(10),
        read: Duration::from_secs(60),
        write: Duration::from_secs(10),
    }
}

/// VmRSS and VmHWM of a process, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| {
        elevated_tests::soak::monitor::status_field(&status, key).unwrap_or(0) as f64 / 1024.0
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

/// Removals of `elevated_*` files in `dir`, with the time each was seen.
struct Watcher {
    dir: PathBuf,
    thread: std::thread::JoinHandle<HashMap<String, SystemTime>>,
}

const STOP: &str = "bench.stop";

impl Watcher {
    fn start(dir: &Path) -> Self {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC).unwrap();
        inotify
            .add_watch(dir, AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM)
            .unwrap();
        let thread = std::thread::spawn(move || {
            let mut seen = HashMap::new();
            loop {
                let events = inotify.read_events().unwrap();
                let now = SystemTime::now();
                for e in events {
                    let Some(name) = e.name.and_then(|n| n.into_string().ok()) else {
                        continue;
                    };
                    if name == STOP {
                        return seen;
                    }
                    if let Some(id) = name.strip_prefix("elevated_") {
                        if !id.contains('.') {
                            seen.insert(id.to_owned(), now);
                        }
                    }
                }
            }
        });
        Self {
            dir: dir.to_owned(),
            thread,
        }
    }

    fn finish(self) -> HashMap<String, SystemTime> {
        let stop = self.dir.join(STOP);
        std::fs::write(&stop, "").unwrap();
        std::fs::remove_file(&stop).unwrap();
        self.thread.join().unwrap()
    }
}

fn request(c: &mut Client, role: &str, secs: u64) -> Response {
    c.call(Request::Request(NewRequest {
        role: RoleName::parse(role).unwrap(),
        duration_secs: Some(secs),
        command: None,
        reason: Some("scale benchmark".into()),
        ticket: None,
    }))
    .unwrap()
}

/// Grants `n` windows ending at `end(i)`, from `threads` clients; returns
/// (id, expires_at) of each.
fn create(
    socket: &Path,
    n: usize,
    threads: usize,
    end: impl Fn(usize) -> Timestamp + Sync,
) -> Vec<(String, Timestamp)> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut c = Client::connect(socket, timeouts()).unwrap();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    let left = end(i).duration_since(Timestamp::now()).as_secs_f64();
                    let secs = left.ceil().max(1.0) as u64;
                    match request(&mut c, "scale", secs) {
                        Response::Request { request } => {
                            let exp: Timestamp =
                                request.expires_at.as_deref().unwrap().parse().unwrap();
                            out.lock().unwrap().push((request.id, exp));
                        }
                        other => panic!("scale request: {other:?}"),
                    }
                }
            });
        }
    });
    out.into_inner().unwrap()
}

fn dropins(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("elevated_"))
        })
        .count()
}

pub fn run(size: Size) {
    let mut d = Daemon::new("[limits]\nrequests_per_minute = 1000000\n");
    d.policy("10-scale.toml", POLICY);
    d.start();
    let pid = d.pid();
    let (idle_rss, _) = memory(pid);
    let watcher = Watcher::start(&d.sudoers);

    // The creation rate decides when the windows may end: every grant must
    // be active before the first one ends.
    let probe = Instant::now();
    let warm = create(&d.socket, 100, 4, |_| {
        Timestamp::now() + Duration::from_secs(3600)
    });
    let per_grant = probe.elapsed().as_secs_f64() / warm.len() as f64;
    let creation = per_grant * size.grants as f64;
    let first_end = Timestamp::now() + Duration::from_secs_f64(creation * 1.5 + 10.0);
    let spread = 60.0;
    let started = Instant::now();
    let grants = create(&d.socket, size.grants, 4, |i| {
        first_end + Duration::from_secs_f64(spread * (i as f64) / (size.grants as f64))
    });
    let made_in = started.elapsed();
    let active = dropins(&d.sudoers);
    let (full_rss, full_hwm) = memory(pid);
    let now = Timestamp::now();
    assert!(
        grants.iter().all(|(_, e)| *e > now),
        "creation outran the estimate: some windows ended before all were made"
    );

    // Wait for every window to end and be taken back.
    let last = grants.iter().map(|(_, e)| *e).max().unwrap();
    while Timestamp::now() < last + Duration::from_secs(30) && dropins(&d.sudoers) > warm.len() {
        std::thread::sleep(Duration::from_millis(200));
    }
    let removed = watcher.finish();
    let mut lags = Vec::new();
    let mut missing = 0;
    for (id, exp) in &grants {
        match removed.get(id) {
            Some(t) => {
                let at = Timestamp::try_from(*t).unwrap();
                let lag = at.duration_since(*exp);
                lags.push(Duration::try_from(lag).unwrap_or(Duration::ZERO));
            }
            None => missing += 1,
        }
    }
    let (after_rss, after_hwm) = memory(pid);
    let lag = summary(&lags);
    println!("## 6. Scale\n");
    println!(
        "{} grants made in {:.1} s ({:.0}/s, 4 clients); {active} drop-ins active at once \
         (plus {} long warm-up grants); ends spread over {spread:.0} s.\n",
        grants.len(),
        made_in.as_secs_f64(),
        grants.len() as f64 / made_in.as_secs_f64(),
        warm.len()
    );
    println!("{HEADER}");
    println!(
        "{}",
        row("revocation lag: window end to drop-in removed", &lag)
    );
    println!(
        "\nnot removed: {missing} · target p99 ≤ 1 s: p99 {}\n",
        ms(lag.p99)
    );
    println!("| daemon memory | RSS MiB | peak (VmHWM) MiB |\n|---|---:|---:|");
    println!("| idle, no grants (baseline) | {idle_rss:.1} | |");
    println!(
        "| {} active grants | {full_rss:.1} | {full_hwm:.1} |",
        grants.len()
    );
    println!("| after they ended | {after_rss:.1} | {after_hwm:.1} |");
    println!(
        "\n(target RSS ≤ 40 MB; ratio to idle {:.2})\n",
        full_rss / idle_rss
    );

    restart(d, size);
}

fn audit_rows(d: &Daemon) -> u64 {
    d.db()
        .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64
}

/// Refused requests until the audit log holds `rows` rows.
fn fill_audit(d: &Daemon, rows: u64) {
    while audit_rows(d) < rows {
        let missing = rows - audit_rows(d);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let mut c = Client::connect(&d.socket, timeouts()).unwrap();
                    for _ in 0..missing.div_ceil(4) {
                        match request(&mut c, "closed", 60) {
                            Response::Request { request } => {
                                assert_eq!(request.state.to_string(), "denied")
                            }
                            other => panic!("refused request: {other:?}"),
                        }
                    }
                });
            }
        });
    }
}

/// Start to READY=1 (sd_notify) and to the first answered Ping.
fn start_times(d: &Daemon, runs: usize) -> (Vec<Duration>, Vec<Duration>) {
    let (mut ready, mut serving) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let path = d.dir.path().join(format!("notify{i}.sock"));
        let notify = UnixDatagram::bind(&path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let start = Instant::now();
        let mut child = Command::new(bin("elevated"))
            .arg("--config")
            .arg(&d.config)
            .env("NOTIFY_SOCKET", &path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = notify.recv(&mut buf).expect("no READY=1 within 30 s");
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
            {
                break;
            }
        }
        ready.push(start.elapsed());
        loop {
            if let Ok(mut c) = Client::connect(&d.socket, timeouts()) {
                if let Ok(Response::Pong { .. }) = c.call(Request::Ping {}) {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        serving.push(start.elapsed());
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }
    (ready, serving)
}

fn restart(mut d: Daemon, size: Size) {
    fill_audit(&d, size.audit_rows);
    let rows = audit_rows(&d);
    d.stop();
    let (ready, serving) = start_times(&d, 7);

    let empty = Daemon::new("");
    empty.policy("10-scale.toml", POLICY);
    let (base_ready, base_serving) = start_times(&empty, 7);
    let (r, s) = (summary(&ready), summary(&serving));
    let (br, bs) = (summary(&base_ready), summary(&base_serving));
    println!("### Restart to ready\n\n{HEADER}");
    println!("{}", row("empty store: start to READY=1 (baseline)", &br));
    println!("{}", row("empty store: start to first answer", &bs));
    println!(
        "{}",
        row(&format!("{rows} audit rows: start to READY=1"), &r)
    );
    println!(
        "{}",
        row(&format!("{rows} audit rows: start to first answer"), &s)
    );
    println!(
        "\nratio p50 {} (target ≤ 300 ms: p50 {}, max {})\n",
        ratio(r.p50, br.p50),
        ms(r.p50),
        ms(r.max)
    );
}
