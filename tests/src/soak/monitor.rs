//! Watching the daemon from outside: resident memory, open descriptors and
//! threads, read from /proc once a second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One look at the process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Since sampling started.
    pub at: Duration,
    /// VmRSS, KiB.
    pub rss_kib: u64,
    /// Entries in /proc/PID/fd.
    pub fds: usize,
    /// Threads.
    pub threads: u64,
}

/// A numeric field of `/proc/PID/status` (`VmRSS:` gives KiB).
pub fn status_field(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Open descriptors of `pid`.
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// What each of `pid`'s descriptors is (`socket:[...]`, a path, ...), for
/// a failure message.
pub fn fd_targets(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .map(|e| {
            let target = std::fs::read_link(e.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            format!("{}={target}", e.file_name().to_string_lossy())
        })
        .collect()
}

/// Samples `pid` now, or `None` when it is gone.
pub fn sample(pid: u32, since: Instant) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(Sample {
        at: since.elapsed(),
        rss_kib: status_field(&status, "VmRSS:")?,
        fds: fds(pid),
        threads: status_field(&status, "Threads:")?,
    })
}

/// Samples a process every second on its own thread.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<Sample>>,
}

impl Sampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let since = Instant::now();
            let mut out = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(s) = sample(pid, since) {
                    out.push(s);
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            out
        });
        Self { stop, handle }
    }

    /// Stops and returns the samples.
    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// The highest RSS (KiB) in each third of the samples.
pub fn rss_thirds(samples: &[Sample]) -> [u64; 3] {
    let n = samples.len();
    let max = |part: &[Sample]| part.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    [
        max(&samples[..n / 3]),
        max(&samples[n / 3..2 * n / 3]),
        max(&samples[2 * n / 3..]),
    ]
}
