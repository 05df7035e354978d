//! A blocking client with connect, read and write timeouts. Used by `elevate`
//! and the PAM module, so it needs no runtime and has no unsafe code
//! (socket2, a safe wrapper over the system calls, sets the connect
//! timeout).

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use crate::frame::{read_frame, write_frame, FrameError};
use crate::PROTOCOL_VERSION;
use crate::{ClientMessage, Request, Response, ServerMessage};

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
    /// daemon may hold open (such as [`Request::Wait`]). The whole
    /// exchange, sending included, ends within `read`.
    pub fn call_with_read_timeout(
        &mut self,
        request: Request,
        read: Duration,
    ) -> Result<Response, ClientError> {
        let deadline = Instant::now().checked_add(read);
        self.call_until(request, deadline, read)
    }

    /// Sends one request and reads its answer, all before `deadline`: for
    /// a caller with a budget of its own (the PAM module), which also
    /// spent part of it connecting.
    pub fn call_by(
        &mut self,
        request: Request,
        deadline: Instant,
    ) -> Result<Response, ClientError> {
        let limit = deadline.saturating_duration_since(Instant::now());
        self.call_until(request, Some(deadline), limit)
    }

    /// Sends one request and reads its answer, all before `deadline`
    /// (`None`: too far to represent, so only the write timeout bounds
    /// the sending). `limit` is what a timeout reports.
    ///
    /// One deadline per question, not a timeout per system call: a peer
    /// that drips one byte at a time, each within a per-read timeout,
    /// could otherwise hold the caller (a login, in the PAM module) for
    /// as long as it likes.
    fn call_until(
        &mut self,
        request: Request,
        deadline: Option<Instant>,
        limit: Duration,
    ) -> Result<Response, ClientError> {
        let msg = ClientMessage {
            version: PROTOCOL_VERSION,
            request,
        };
        let write_by = Instant::now()
            .checked_add(self.timeouts.write)
            .map_or(deadline, |w| Some(deadline.map_or(w, |d| d.min(w))));
        let sent = write_frame(&mut Bounded::new(&self.stream, write_by), &msg);
        if let Err(e) = sent {
            // The daemon refuses a connection (too many at once) by
            // answering and hanging up before reading anything; its answer
            // is already here and says more than the broken pipe.
            if is_hangup(&e) {
                let mut r = Bounded::new(&self.stream, deadline);
                if let Ok(answer) = read_frame::<_, ServerMessage>(&mut r) {
                    return checked(answer);
                }
            }
            return Err(map_timeout(e, self.timeouts.write.min(limit)));
        }
        let answer: ServerMessage = read_frame(&mut Bounded::new(&self.stream, deadline))
            .map_err(|e| map_timeout(e, limit))?;
        checked(answer)
    }
}

/// The connection seen through one deadline: before every read or write
/// the socket's timeout is set to the time left (at least
/// [`MIN_TIMEOUT`]), and once the deadline has passed every call fails
/// with [`io::ErrorKind::TimedOut`].
struct Bounded<'a> {
    stream: &'a UnixStream,
    deadline: Option<Instant>,
}

impl<'a> Bounded<'a> {
    fn new(stream: &'a UnixStream, deadline: Option<Instant>) -> Self {
        Self { stream, deadline }
    }

    /// The timeout for the next system call; `None` (wait as long as it
    /// takes) only without a deadline.
    fn left(&self) -> io::Result<Option<Duration>> {
        let Some(deadline) = self.deadline else {
            return Ok(None);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        // Never below a millisecond: a timeout that rounds to zero in the
        // kernel would mean none at all.
        Ok(Some(left.max(MIN_TIMEOUT)))
    }
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(self.left()?)?;
        (&mut &*self.stream).read(buf)
    }
}

impl Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(self.left()?)?;
        (&mut &*self.stream).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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
#[path = "client_tests.rs"]
mod tests;
