//! Test helpers: an HTTP receiver on 127.0.0.1, a sample event, captured
//! logs.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use elevated_testkit::poll::eventually;

use super::{Event, EventKind};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// How the receiver answers.
#[derive(Clone)]
pub enum Answer {
    /// These statuses in turn; the last one repeats.
    Statuses(Vec<u16>),
    /// Reads the request, then never answers (holds the connection).
    Hang,
}

/// An HTTP/1.1 receiver on 127.0.0.1 that records every request.
pub struct Receiver {
    pub port: u16,
    rx: mpsc::Receiver<Received>,
    hits: Arc<AtomicUsize>,
}

impl Receiver {
    pub fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let (tx, answer) = (tx.clone(), answer.clone());
                thread::spawn(move || serve(stream, n, &answer, &tx));
            }
        });
        Self { port, rx, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next request, waiting up to `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Received> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Connections accepted so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, n: usize, answer: &Answer, tx: &mpsc::Sender<Received>) {
    let Some(req) = read_request(&stream) else {
        return;
    };
    let _ = tx.send(req);
    let status = match answer {
        Answer::Hang => {
            thread::sleep(Duration::from_secs(30));
            return;
        }
        Answer::Statuses(s) => s.get(n).or(s.last()).copied().unwrap_or(200),
    };
    let body = if status < 300 { "ok" } else { "try later" };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A pending request with every optional field set; the reason is hostile.
pub fn event(kind: EventKind) -> Event {
    Event {
        kind,
        id: "k3f9x2ma".into(),
        host: "web1".into(),
        user: "alice".into(),
        role: "db-admin".into(),
        state: "pending".into(),
        reason: Some("<!channel> see <http://evil|click> & [click](http://evil) *now*".into()),
        ticket: Some("OPS-42 <@U123>".into()),
        duration_secs: 1800,
        approvals_needed: 2,
        approvals_given: 0,
        approvers: "group dba-leads; principal carol@corp".into(),
        decided_by: None,
        comment: None,
        expires_at: None,
        at: "2026-03-02T10:00:00Z".into(),
        approval_text: Some(
            "elevated decision v2\ndecision: approve\nrequest: k3f9x2ma\nround: 0\nhost: web1\nrequester: alice (uid 1000)\nrole: db-admin\nduration: 1800s\ncommand: -\nrun-as: postgres\ncommands: [\"/usr/bin/psql\"]\nnopasswd: yes\ngroups: -\nlogin: no\nvalid-until: 2026-03-02T11:00:00Z\n"
                .into(),
        ),
        approve_command: Some("elevate approve k3f9x2ma".into()),
    }
}

/// Log lines written while a guard from [`Logs::capture`] lives, including
/// those of workers started meanwhile.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

pub struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let buf = Arc::clone(&self.0);
        let sub = tracing_subscriber::fmt()
            .with_writer(move || LogWriter(Arc::clone(&buf)))
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_default(sub)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Waits up to `timeout` for `needle` to be logged.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        eventually(timeout, || self.text().contains(needle))
    }
}
