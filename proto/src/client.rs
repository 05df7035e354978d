//! A blocking client with connect, read and write timeouts. Used by `elevate`
//! and the PAM module, so it needs no runtime and has no unsafe code
//! (socket2, a safe wrapper over the system calls, sets the connect
//! timeout).

use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use crate::frame::{read_frame, write_frame, FrameError};
use crate::messages::{ClientMessage, Request, Response, ServerMessage};
use crate::PROTOCOL_VERSION;

/// Time limits for talking to the daemon.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Longest wait for the connection to be accepted.
    pub connect: Duration,
    /// Longest wait for an answer.
    pub read: Duration,
    /// Longest wait for a request to be sent.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(30),
            write: Duration::from_secs(5),
        }
    }
}

/// Why talking to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached.
    #[error("cannot reach elevated at {path}: {source} (is the daemon running?)")]
    Connect {
        /// The socket path tried.
        path: PathBuf,
        /// The underlying failure.
        source: io::Error,
    },
    /// The daemon did not answer in time.
    #[error("elevated did not answer within {0:?}")]
    Timeout(Duration),
    /// The exchange broke off or carried something unreadable.
    #[error("talking to elevated failed: {0}")]
    Frame(#[from] FrameError),
    /// The daemon speaks another protocol version.
    #[error("elevated speaks protocol version {theirs}, this client speaks {ours}; upgrade both together")]
    Version {
        /// Ours.
        ours: u32,
        /// The daemon's.
        theirs: u32,
    },
}

impl ClientError {
    /// Whether the daemon could not be reached or did not answer at all, as
    /// opposed to answering something.
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout(_) => true,
            Self::Frame(FrameError::Closed) => true,
            Self::Frame(FrameError::Io(e)) => is_timeout(e),
            _ => false,
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The shortest timeout set on a socket: a deadline that has nearly run out
/// still gets a bounded wait, never an unbounded one.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// One connection to the daemon.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    timeouts: Timeouts,
}

impl Client {
    /// Connects within `timeouts.connect`.
    ///
    /// A Unix connect blocks only while the daemon's listen backlog is
    /// full, and Linux bounds that wait by the socket's send timeout
    /// (`SO_SNDTIMEO`): set before connecting, it is the connect timeout,
    /// with no helper thread (which the PAM module would start inside
    /// every sshd and leave behind on a timeout) and no polling.
    pub fn connect(path: &Path, timeouts: Timeouts) -> Result<Self, ClientError> {
        let failed = |source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        };
        let addr = SockAddr::unix(path).map_err(failed)?;
        // Close-on-exec: `elevate run` replaces itself with sudo, which
        // must not inherit the connection.
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(failed)?;
        // At least a millisecond: the kernel keeps microseconds, and a
        // timeout that rounds to zero would mean "wait forever".
        socket
            .set_write_timeout(Some(timeouts.connect.max(MIN_TIMEOUT)))
            .map_err(failed)?;
        match socket.connect(&addr) {
            Ok(()) => {}
            // The backlog stayed full for the whole timeout.
            Err(e) if is_timeout(&e) => return Err(ClientError::Timeout(timeouts.connect)),
            Err(e) => return Err(failed(e)),
        }
        let client = Self {
            stream: UnixStream::from(std::os::fd::OwnedFd::from(socket)),
            timeouts,
        };
        client.apply_timeouts(timeouts.read)?;
        Ok(client)
    }

    fn apply_timeouts(&self, read: Duration) -> Result<(), ClientError> {
        let io = |source| ClientError::Frame(FrameError::Io(source));
        // std refuses a zero timeout; a tiny one rounds to zero in the
        // kernel (no timeout at all): never below a millisecond.
        self.stream
            .set_read_timeout(Some(read.max(MIN_TIMEOUT)))
            .map_err(io)?;
        self.stream
            .set_write_timeout(Some(self.timeouts.write.max(MIN_TIMEOUT)))
            .map_err(io)?;
        Ok(())
    }

    /// Sends one request and reads its answer.
    pub fn call(&mut self, request: Request) -> Result<Response, ClientError> {
        self.call_with_read_timeout(request, self.timeouts.read)
    }

    /// Like [`Client::call`], with a longer read timeout for operations the
    /// daemon may hold open (such as [`Request::Wait`]).
    pub fn call_with_read_timeout(
        &mut self,
        request: Request,
        read: Duration,
    ) -> Result<Response, ClientError> {
        self.apply_timeouts(read)?;
        let msg = ClientMessage {
            version: PROTOCOL_VERSION,
            request,
        };
        if let Err(e) = write_frame(&mut self.stream, &msg) {
            // The daemon refuses a connection (too many at once) by
            // answering and hanging up before reading anything; its answer
            // is already here and says more than the broken pipe.
            if is_hangup(&e) {
                if let Ok(answer) = read_frame::<_, ServerMessage>(&mut self.stream) {
                    return checked(answer);
                }
            }
            return Err(map_timeout(e, self.timeouts.write));
        }
        let answer: ServerMessage =
            read_frame(&mut self.stream).map_err(|e| map_timeout(e, read))?;
        checked(answer)
    }
}

fn is_hangup(e: &FrameError) -> bool {
    matches!(e, FrameError::Io(io) if matches!(
        io.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    ))
}

/// The response, if the daemon speaks our version.
fn checked(answer: ServerMessage) -> Result<Response, ClientError> {
    if answer.version != PROTOCOL_VERSION {
        return Err(ClientError::Version {
            ours: PROTOCOL_VERSION,
            theirs: answer.version,
        });
    }
    Ok(answer.response)
}

fn map_timeout(e: FrameError, limit: Duration) -> ClientError {
    match e {
        FrameError::Io(ref io) if is_timeout(io) => ClientError::Timeout(limit),
        other => ClientError::Frame(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::time::Instant;

    #[test]
    fn unreachable_socket_is_reported() {
        let dir = std::env::temp_dir().join(format!("elevated-proto-{}", std::process::id()));
        let err = Client::connect(&dir.join("nope.sock"), Timeouts::default()).unwrap_err();
        assert!(err.is_unreachable());
        assert!(err.to_string().contains("nope.sock"));
    }

    #[test]
    fn a_refusal_sent_before_hanging_up_is_read() {
        let dir = std::env::temp_dir().join(format!("elevated-proto-r-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("refusing.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let mut c = Client::connect(&path, Timeouts::default()).unwrap();
        // Like the daemon when every slot is taken: answer, hang up, never
        // read the request.
        let (mut s, _) = listener.accept().unwrap();
        let refusal = ServerMessage {
            version: PROTOCOL_VERSION,
            response: Response::Error {
                code: crate::ErrorCode::Limit,
                message: "too many connections".into(),
            },
        };
        crate::frame::write_frame(&mut s, &refusal).unwrap();
        drop(s);
        // Writing the request now fails (broken pipe); the answer is there.
        let answer = c.call(Request::Ping {}).unwrap();
        assert_eq!(answer, refusal.response);
        drop(listener);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn silent_server_times_out() {
        let dir = std::env::temp_dir().join(format!("elevated-proto-t-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("silent.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let t = Timeouts {
            connect: Duration::from_secs(1),
            read: Duration::from_millis(200),
            write: Duration::from_millis(200),
        };
        let mut c = Client::connect(&path, t).unwrap();
        let start = Instant::now();
        let err = c.call(Request::Ping {}).unwrap_err();
        assert!(matches!(err, ClientError::Timeout(_)), "{err:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
        drop(listener);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A daemon that never accepts, with the smallest backlog, on a socket
    /// in a directory of its own; and connections that fill the backlog.
    fn full_backlog(tag: &str) -> (PathBuf, PathBuf, Socket, Vec<Client>) {
        let dir = std::env::temp_dir().join(format!("elevated-proto-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("busy.sock");
        let _ = std::fs::remove_file(&path);
        let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        listener.bind(&SockAddr::unix(&path).unwrap()).unwrap();
        listener.listen(1).unwrap();
        let t = Timeouts {
            connect: Duration::from_millis(100),
            ..Timeouts::default()
        };
        let mut held = Vec::new();
        loop {
            match Client::connect(&path, t) {
                Ok(c) => held.push(c),
                Err(e) => {
                    assert!(matches!(e, ClientError::Timeout(_)), "{e:?}");
                    break;
                }
            }
            assert!(held.len() < 64, "the backlog never filled");
        }
        (dir, path, listener, held)
    }

    #[test]
    fn a_full_backlog_times_out_without_a_thread() {
        let (dir, path, listener, _held) = full_backlog("b");
        let t = Timeouts {
            connect: Duration::from_millis(200),
            ..Timeouts::default()
        };
        // Other tests run threads of their own: look for a connect helper
        // by name (the kernel keeps 15 bytes of it).
        let helpers = || {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
                .filter(|c| c.contains("connec"))
                .count()
        };
        let start = Instant::now();
        let err = Client::connect(&path, t).unwrap_err();
        let (took, helpers_left) = (start.elapsed(), helpers());
        assert!(matches!(err, ClientError::Timeout(_)), "{err:?}");
        assert!(err.is_unreachable());
        assert!(took >= Duration::from_millis(150), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(helpers_left, 0, "no helper thread left behind");
        drop(listener);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_connection_is_closed_on_exec() {
        let dir = std::env::temp_dir().join(format!("elevated-proto-x-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.sock");
        let _ = std::fs::remove_file(&path);
        let _listener = UnixListener::bind(&path).unwrap();
        let c = Client::connect(&path, Timeouts::default()).unwrap();
        use std::os::fd::AsRawFd;
        let fdinfo =
            std::fs::read_to_string(format!("/proc/self/fdinfo/{}", c.stream.as_raw_fd())).unwrap();
        let flags = fdinfo
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
            .unwrap();
        // O_CLOEXEC is 02000000 on Linux.
        assert_ne!(flags & 0o2_000_000, 0, "flags {flags:o}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_timeout_that_rounds_to_zero_still_bounds_the_connect() {
        // Fill the backlog with a normal timeout, then ask with 1 ns.
        let (dir, path, listener, _held) = full_backlog("z");
        let tiny = Timeouts {
            connect: Duration::from_nanos(1),
            ..Timeouts::default()
        };
        // On a thread, so that an unbounded connect fails the test instead
        // of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(Client::connect(&p, tiny).map(|_| ()));
        });
        let outcome = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the connect did not return: no timeout was in force");
        let err = outcome.unwrap_err();
        assert!(matches!(err, ClientError::Timeout(_)), "{err:?}");
        drop(listener);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
