//! The load and bad-input soak: client workers that the soak test starts as
//! separate processes (one per user and kind, so `SO_PEERCRED` gives each
//! the uid it plays), and the tallies they report back.
//!
//! A worker runs `threads` client threads for `seconds`, each holding one
//! connection to the daemon at a time, and prints one JSON [`Tally`] on
//! stdout when done. Valid clients count every request they send and every
//! answer of the right kind; hostile clients count how the daemon reacted
//! to each kind of abuse.

pub mod hold;
pub mod hostile;
pub mod monitor;
pub mod valid;
mod worker;

pub use worker::worker_main;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use elevated_proto::frame::{self, FrameError};
use elevated_proto::{ClientMessage, ErrorCode, Request, Response, ServerMessage};
use serde::{Deserialize, Serialize};

/// Longest wait for any answer. Only a hung daemon reaches it; the soak
/// asserts answers, never how fast they came.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// The kinds of client a worker plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Ping, status, roles, list, show, audit (and audit verify as root).
    Reader,
    /// Requests an automatically approved role, checks the drop-in, revokes
    /// or lets it expire.
    Auto,
    /// Requests a role that needs approval and waits for the decision.
    Requester,
    /// Approves or denies whatever is pending for it.
    Approver,
    /// Files pending requests as fast as it can, never withdrawing them.
    Flood,
    /// Every kind of bad input in [`hostile`].
    Hostile,
    /// Opens connections and keeps them (see [`hold`]).
    Hold,
}

impl Kind {
    /// Parses the name used on the worker's command line.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "reader" => Self::Reader,
            "auto" => Self::Auto,
            "requester" => Self::Requester,
            "approver" => Self::Approver,
            "flood" => Self::Flood,
            "hostile" => Self::Hostile,
            "hold" => Self::Hold,
            _ => return None,
        })
    }
}

/// What a worker is told: `key=value` arguments.
#[derive(Debug, Clone)]
pub struct Plan {
    pub socket: PathBuf,
    pub sudoers: PathBuf,
    pub host: String,
    pub user: String,
    pub kind: Kind,
    pub threads: usize,
    pub seconds: u64,
}

impl Plan {
    /// The worker's command-line arguments for this plan.
    pub fn args(&self, kind: &str) -> Vec<String> {
        vec![
            format!("socket={}", self.socket.display()),
            format!("sudoers={}", self.sudoers.display()),
            format!("host={}", self.host),
            format!("user={}", self.user),
            format!("kind={kind}"),
            format!("threads={}", self.threads),
            format!("seconds={}", self.seconds),
        ]
    }

    fn parse(args: &[String]) -> Result<Self, String> {
        let map: BTreeMap<&str, &str> = args.iter().filter_map(|a| a.split_once('=')).collect();
        let get = |k: &str| map.get(k).copied().ok_or(format!("missing {k}="));
        let num = |k: &str| get(k)?.parse::<u64>().map_err(|e| format!("{k}: {e}"));
        Ok(Self {
            socket: get("socket")?.into(),
            sudoers: get("sudoers")?.into(),
            host: get("host")?.to_owned(),
            user: get("user")?.to_owned(),
            kind: Kind::parse(get("kind")?).ok_or("unknown kind")?,
            threads: usize::try_from(num("threads")?).map_err(|e| e.to_string())?,
            seconds: num("seconds")?,
        })
    }
}

/// How the daemon reacted to one kind of hostile client.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// Times this abuse was tried to the end.
    pub runs: u64,
    /// Answered with the expected error.
    pub error_answer: u64,
    /// Closed without an answer (where that is the expected reaction).
    pub closed: u64,
    /// The same connection then answered a valid request.
    pub recovered: u64,
    /// Refused at connect time because of a connection limit.
    pub busy: u64,
    /// Anything else (a success answer to garbage, a hang, a wrong code).
    pub unexpected: u64,
}

/// A worker's report.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Tally {
    /// Connections opened.
    pub connections: u64,
    /// Valid requests sent (each counted once, however often it was
    /// refused as busy before a connection was accepted).
    pub sent: u64,
    /// Valid requests answered with the right kind of answer.
    pub answered: u64,
    /// Of those, answers that lost an honest race (deciding a request
    /// another approver just decided): a clear error is the right answer.
    pub raced: u64,
    /// Of those, "you already have N pending requests" answers.
    pub limited: u64,
    /// Connections refused with "too many connections" and retried.
    pub busy: u64,
    /// Valid requests with a wrong answer or none.
    pub problems: u64,
    /// The first few problems, for the failure message.
    pub examples: Vec<String>,
    /// Hostile outcomes by kind.
    pub hostile: BTreeMap<String, Outcome>,
    /// Ids of every request filed (answered with a request view).
    pub requested: BTreeSet<String>,
    /// Ids seen active.
    pub activated: BTreeSet<String>,
}

impl Tally {
    /// Adds another tally into this one.
    pub fn merge(&mut self, o: Tally) {
        self.connections += o.connections;
        self.sent += o.sent;
        self.answered += o.answered;
        self.raced += o.raced;
        self.limited += o.limited;
        self.busy += o.busy;
        self.problems += o.problems;
        for e in o.examples {
            self.problem_example(e);
        }
        for (k, v) in o.hostile {
            let mine = self.hostile.entry(k).or_default();
            mine.runs += v.runs;
            mine.error_answer += v.error_answer;
            mine.closed += v.closed;
            mine.recovered += v.recovered;
            mine.busy += v.busy;
            mine.unexpected += v.unexpected;
        }
        self.requested.extend(o.requested);
        self.activated.extend(o.activated);
    }

    fn problem_example(&mut self, e: String) {
        if self.examples.len() < 20 {
            self.examples.push(e);
        }
    }

    /// Records one valid exchange: `ok` says whether the answer was right.
    pub fn check(&mut self, what: &str, answer: &Result<Response, String>, ok: bool) {
        self.sent += 1;
        if ok {
            self.answered += 1;
        } else {
            self.problems += 1;
            self.problem_example(format!("{what}: {answer:?}"));
        }
    }
}

/// A small xorshift generator: the soak needs variety, not quality.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock and `salt`.
    pub fn new(salt: u64) -> Self {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self((t ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// A pause of `lo..hi` milliseconds.
    pub fn pause(&mut self, lo: u64, hi: u64) {
        std::thread::sleep(Duration::from_millis(lo + self.below(hi - lo)));
    }
}

/// One client thread's view of the run.
pub struct Ctx {
    pub plan: Plan,
    pub rng: Rng,
    pub tally: Tally,
    /// No new session starts after this.
    pub end: Instant,
    /// Index of this thread within the worker.
    pub index: usize,
}

impl Ctx {
    /// Whether the run is over.
    pub fn over(&self) -> bool {
        Instant::now() >= self.end
    }
}

/// A raw connection with generous timeouts.
pub fn connect(ctx: &mut Ctx) -> io::Result<UnixStream> {
    let s = UnixStream::connect(&ctx.plan.socket)?;
    s.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    ctx.tally.connections += 1;
    Ok(s)
}

/// Reads one answer; `Ok(None)` when the daemon closed the connection.
pub fn read_answer(s: &mut UnixStream) -> Result<Option<ServerMessage>, String> {
    match frame::read_frame::<_, ServerMessage>(s) {
        Ok(m) => Ok(Some(m)),
        Err(FrameError::Closed) => Ok(None),
        Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether an answer is the daemon refusing the connection as busy.
pub fn is_busy(r: &Response) -> bool {
    matches!(r, Response::Error { code: ErrorCode::Limit, message }
        if message.contains("too many connections"))
}

/// A valid client's connection: reconnects when refused as busy.
pub struct Session {
    stream: Option<UnixStream>,
    /// Exchanges done on the current connection.
    used: u32,
}

impl Session {
    /// No connection yet: the first call opens one.
    pub fn new() -> Self {
        Self {
            stream: None,
            used: 0,
        }
    }

    /// Sends `req` and reads its answer. A "too many connections" answer to
    /// the first request of a connection is counted as busy and retried on
    /// a new connection after a pause.
    pub fn call(&mut self, ctx: &mut Ctx, req: Request) -> Result<Response, String> {
        let msg = ClientMessage {
            version: elevated_proto::PROTOCOL_VERSION,
            request: req,
        };
        let give_up = ctx.end + Duration::from_secs(120);
        loop {
            if self.stream.is_none() {
                self.stream = Some(connect(ctx).map_err(|e| format!("connect: {e}"))?);
                self.used = 0;
            }
            let s = self.stream.as_mut().ok_or("no connection")?;
            let sent = frame::write_frame(s, &msg);
            let answer = read_answer(s);
            let first = self.used == 0;
            self.used += 1;
            match (sent, answer) {
                (_, Ok(Some(m))) if first && is_busy(&m.response) && Instant::now() < give_up => {
                    ctx.tally.busy += 1;
                    self.stream = None;
                    ctx.rng.pause(20, 200);
                }
                (_, Ok(Some(m))) => return Ok(m.response),
                (Err(e), _) => {
                    self.stream = None;
                    return Err(format!("send: {e}"));
                }
                (_, Ok(None)) => {
                    self.stream = None;
                    return Err("connection closed without an answer".into());
                }
                (_, Err(e)) => {
                    self.stream = None;
                    return Err(format!("read: {e}"));
                }
            }
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}
