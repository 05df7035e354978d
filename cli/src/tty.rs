//! The terminal, for questions asked while talking to the daemon: the
//! re-authentication conversation and "cancel this request?".
//!
//! The terminal is `/dev/tty`, used when stdin or stderr is one (so that
//! `elevate run -- cmd < file` still asks on the screen). With neither,
//! answers are read from stdin, one line each, without reading ahead, so
//! that a command started afterwards gets the rest of its input.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;

/// Longest answer accepted, in bytes (what the daemon passes to PAM).
pub const MAX_ANSWER: usize = elevated_proto::MAX_ANSWER;

/// Why no answer could be read.
#[derive(Debug)]
pub enum AnswerError {
    /// Longer than [`MAX_ANSWER`].
    TooLong,
    /// Reading failed.
    Io(std::io::Error),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLong => write!(f, "an answer may be at most {MAX_ANSWER} bytes"),
            Self::Io(e) => write!(f, "cannot read the answer: {e}"),
        }
    }
}

/// The controlling terminal, when stdin or stderr is a terminal and it can
/// be opened for reading and writing.
#[must_use]
pub fn open() -> Option<File> {
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return None;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()
}

/// Writes `text` to the terminal, or to stderr when there is none.
pub fn say(tty: Option<&mut File>, text: &str) {
    let _ = match tty {
        Some(t) => t.write_all(text.as_bytes()).and_then(|()| t.flush()),
        None => {
            let mut e = std::io::stderr().lock();
            e.write_all(text.as_bytes()).and_then(|()| e.flush())
        }
    };
}

/// Reads one line from `r`, a byte at a time (never past the newline), at
/// most [`MAX_ANSWER`] bytes without the line end. `None` at end of input
/// before anything was read.
pub fn read_line(r: &mut impl Read) -> Result<Option<String>, AnswerError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => {
                line.push(byte[0]);
                if line.len() > MAX_ANSWER + 1 {
                    return Err(AnswerError::TooLong);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(AnswerError::Io(e)),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > MAX_ANSWER {
        return Err(AnswerError::TooLong);
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| AnswerError::Io(std::io::ErrorKind::InvalidData.into()))
}

/// Reads one line from stdin without buffering ahead.
pub fn read_stdin_line() -> Result<Option<String>, AnswerError> {
    let fd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(AnswerError::Io)?;
    read_line(&mut File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_stop_at_the_newline_and_the_limit() {
        let mut r: &[u8] = b"secret\r\nrest";
        assert_eq!(read_line(&mut r).unwrap().as_deref(), Some("secret"));
        assert_eq!(r, b"rest");
        assert_eq!(read_line(&mut r).unwrap().as_deref(), Some("rest"));
        assert_eq!(read_line(&mut r).unwrap(), None);
        let mut empty: &[u8] = b"\n";
        assert_eq!(read_line(&mut empty).unwrap().as_deref(), Some(""));
        let max = vec![b'x'; MAX_ANSWER];
        assert_eq!(read_line(&mut &max[..]).unwrap().unwrap().len(), MAX_ANSWER);
        let long = vec![b'x'; MAX_ANSWER + 1];
        assert!(matches!(
            read_line(&mut &long[..]),
            Err(AnswerError::TooLong)
        ));
        let huge = vec![b'x'; 100 * MAX_ANSWER];
        let mut r = &huge[..];
        assert!(matches!(read_line(&mut r), Err(AnswerError::TooLong)));
        assert!(r.len() > 90 * MAX_ANSWER, "stopped reading early");
        assert!(read_line(&mut &b"\xff\n"[..]).is_err());
    }
}
