//! A fake daemon on a real Unix socket that plays a script: each request
//! it receives takes the next [`Step`]. The client's and the PAM module's
//! tests drive their programs against it to see what they make of every
//! kind of answer, and of answers that are broken, late or missing.

use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use elevated_proto::{
    read_frame, write_frame, ClientMessage, LoginVerdict, Request, RequestView, Response,
    ServerMessage, WaitFor, PROTOCOL_VERSION,
};

use crate::poll::wait_until;

/// What the fake daemon does with one request.
pub enum Step {
    /// Answer with this.
    Answer(Response),
    /// Answer every `Wait` with this view after holding it for the time the
    /// `Wait` asked; the next request that is not a `Wait` goes on to the
    /// next step.
    Hold(RequestView),
    /// Write these bytes instead of a frame, then hang up.
    Garbage(Vec<u8>),
    /// Answer in another protocol version.
    OtherVersion,
    /// Never answer this request; the connection stays open, and a later
    /// request on it takes the next step.
    Silent,
    /// Send this answer one byte at a time, this long apart, then hang up
    /// (or stop as soon as the client has).
    Drip(Response, Duration),
}

/// Answers with `r`.
pub fn answer(r: Response) -> Step {
    Step::Answer(r)
}

/// A daemon on a temporary socket that plays a script of [`Step`]s. It
/// serves each connection on its own thread, so a connection left open
/// never holds up the next one; requests take the steps in the order they
/// arrive. A connection is closed once the script is done.
pub struct FakeDaemon {
    _dir: tempfile::TempDir,
    /// Where it listens.
    pub socket: PathBuf,
    /// Every request received, in order.
    pub seen: Arc<Mutex<Vec<Request>>>,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// What the connection threads share.
struct Script {
    steps: Mutex<VecDeque<Step>>,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl FakeDaemon {
    /// Starts serving `steps`.
    pub fn new(steps: Vec<Step>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("elevated.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(Script {
            steps: Mutex::new(steps.into()),
            seen: Arc::clone(&seen),
        });
        let (st, c) = (Arc::clone(&stop), Arc::clone(&connections));
        std::thread::spawn(move || accept(&listener, &script, &st, &c));
        Self {
            _dir: dir,
            socket,
            seen,
            connections,
            stop,
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `n` requests have arrived (fails the test after 20 s).
    pub fn wait_requests(&self, n: usize) {
        let what = format!("{n} requests, seen {:?}", self.requests());
        wait_until(&what, Duration::from_secs(20), || {
            self.seen.lock().unwrap().len() >= n
        });
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn accept(listener: &UnixListener, script: &Arc<Script>, stop: &AtomicBool, count: &AtomicUsize) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                count.fetch_add(1, Ordering::SeqCst);
                let script = Arc::clone(script);
                std::thread::spawn(move || serve(stream, &script));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Serves one connection until the client or the script ends it.
fn serve(mut stream: UnixStream, script: &Script) {
    stream.set_nonblocking(false).unwrap();
    // A forgotten client must not keep the thread forever.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    while let Ok(msg) = read_frame::<_, ClientMessage>(&mut stream) {
        assert_eq!(msg.version, PROTOCOL_VERSION);
        script.seen.lock().unwrap().push(msg.request.clone());
        let step = next_step(&script.steps, &msg.request);
        let reply = |stream: &mut UnixStream, response: Response, version: u32| {
            let _ = write_frame(stream, &ServerMessage { version, response });
        };
        match step {
            Some(Step::Answer(r)) => reply(&mut stream, r, PROTOCOL_VERSION),
            Some(Step::Hold(view)) => {
                if let Request::Wait(WaitFor { timeout_ms, .. }) = msg.request {
                    std::thread::sleep(Duration::from_millis(timeout_ms));
                }
                reply(
                    &mut stream,
                    Response::Request { request: view },
                    PROTOCOL_VERSION,
                );
            }
            Some(Step::OtherVersion) => {
                let allow = Response::Login {
                    verdict: LoginVerdict::Allow,
                    message: "ok".into(),
                    request: None,
                };
                reply(&mut stream, allow, 99);
            }
            Some(Step::Garbage(bytes)) => {
                let _ = stream.write_all(&bytes);
                return;
            }
            Some(Step::Silent) => {}
            Some(Step::Drip(response, every)) => {
                let msg = ServerMessage {
                    version: PROTOCOL_VERSION,
                    response,
                };
                for b in elevated_proto::frame::encode(&msg).unwrap() {
                    std::thread::sleep(every);
                    if stream.write_all(&[b]).is_err() {
                        break;
                    }
                }
                return;
            }
            None => return,
        }
    }
}

/// The step for `request`: a [`Step::Hold`] answers every `Wait` (and
/// stays), any other request moves past it.
fn next_step(steps: &Mutex<VecDeque<Step>>, request: &Request) -> Option<Step> {
    let mut steps = steps.lock().unwrap();
    if let Some(Step::Hold(view)) = steps.front() {
        if matches!(request, Request::Wait(_)) {
            return Some(Step::Hold(view.clone()));
        }
        steps.pop_front();
    }
    steps.pop_front()
}
