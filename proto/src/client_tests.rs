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

/// A client on one end of a socket pair, and on the other a daemon
/// that reads the question and then sends a valid answer one byte
/// every `every`, until the client hangs up.
fn dripping(every: Duration, t: Timeouts) -> Client {
    let (ours, theirs) = UnixStream::pair().unwrap();
    std::thread::spawn(move || {
        let mut s = theirs;
        let _: ClientMessage = crate::frame::read_frame(&mut s).unwrap();
        let answer = crate::frame::encode(&ServerMessage {
            version: PROTOCOL_VERSION,
            response: Response::Pong {
                daemon_version: "0.0.0".into(),
                host: "dripping".into(),
            },
        })
        .unwrap();
        for b in answer {
            std::thread::sleep(every);
            if s.write_all(&[b]).is_err() {
                return;
            }
        }
    });
    Client {
        stream: ours,
        timeouts: t,
    }
}

#[test]
fn a_dripping_answer_is_cut_off_at_one_deadline_per_question() {
    let t = Timeouts {
        connect: Duration::from_secs(1),
        read: Duration::from_millis(500),
        write: Duration::from_secs(1),
    };
    // Each byte comes well within the read timeout; the whole answer
    // (about 60 bytes) would take 3 s.
    let mut c = dripping(Duration::from_millis(50), t);
    let start = Instant::now();
    let outcome = c.call(Request::Ping {});
    let took = start.elapsed();
    let err = outcome.expect_err("the dripped answer was waited for to its end");
    assert!(
        matches!(err, ClientError::Timeout(d) if d == t.read),
        "{err:?}"
    );
    assert!(err.is_unreachable());
    assert!(took < Duration::from_secs(2), "{took:?}");

    // The same drip, given the time it needs, is a valid answer.
    let mut c = dripping(Duration::from_millis(1), t);
    assert!(matches!(
        c.call(Request::Ping {}),
        Ok(Response::Pong { .. })
    ));
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
