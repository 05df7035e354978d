//! Length-prefixed JSON framing: `u32` big-endian length, then the JSON body.

use std::io::{self, Read, Write};

use serde::{de::DeserializeOwned, Serialize};

/// Largest frame body accepted or produced, in bytes (64 KiB).
pub const MAX_FRAME: usize = 64 * 1024;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection cleanly between frames.
    #[error("connection closed")]
    Closed,
    /// The connection ended or failed in the middle of a frame.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The announced length exceeds [`MAX_FRAME`].
    #[error("frame of {0} bytes is larger than the limit of {MAX_FRAME} bytes")]
    TooLarge(u64),
    /// A zero-length frame: never valid JSON.
    #[error("empty frame")]
    Empty,
    /// The body is not UTF-8.
    #[error("frame is not valid UTF-8")]
    Utf8,
    /// The body is UTF-8 but not the JSON message expected.
    #[error("invalid message: {0}")]
    Json(String),
}

/// Checks a frame header and returns the body length it announces.
pub fn body_len(header: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header);
    if len == 0 {
        return Err(FrameError::Empty);
    }
    let len = usize::try_from(len).map_err(|_| FrameError::TooLarge(u64::from(len)))?;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len as u64));
    }
    Ok(len)
}

/// Decodes a frame body (without its header) into a message.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let text = std::str::from_utf8(body).map_err(|_| FrameError::Utf8)?;
    serde_json::from_str(text).map_err(|e| FrameError::Json(e.to_string()))
}

/// Encodes a message as a complete frame, header included.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let body = serde_json::to_vec(msg).map_err(|e| FrameError::Json(e.to_string()))?;
    if body.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(body.len() as u64));
    }
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge(body.len() as u64))?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The length of `msg` encoded as a frame body, measured without
/// allocating; `None` when it cannot be encoded.
pub fn encoded_len<T: Serialize>(msg: &T) -> Option<usize> {
    struct Counter(usize);
    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    serde_json::to_writer(&mut c, msg).ok().map(|()| c.0)
}

/// Writes one message as a frame.
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    let frame = encode(msg)?;
    w.write_all(&frame)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame and decodes it. Returns [`FrameError::Closed`] when the
/// peer closed the connection before the first header byte.
pub fn read_frame<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<T, FrameError> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = body_len(header)?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    decode(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn round_trip() {
        let msg = serde_json::json!({"a": 1, "b": "ü"});
        let frame = encode(&msg).unwrap();
        assert_eq!(&frame[..4], &(frame.len() as u32 - 4).to_be_bytes());
        let back: Value = read_frame(&mut &frame[..]).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn refuses_oversized_header_without_reading_body() {
        let header = u32::MAX.to_be_bytes();
        assert!(matches!(body_len(header), Err(FrameError::TooLarge(_))));
        let at_limit = (MAX_FRAME as u32).to_be_bytes();
        assert_eq!(body_len(at_limit).unwrap(), MAX_FRAME);
        let over = (MAX_FRAME as u32 + 1).to_be_bytes();
        assert!(matches!(body_len(over), Err(FrameError::TooLarge(_))));
    }

    #[test]
    fn refuses_empty_truncated_and_bad_utf8() {
        assert!(matches!(body_len([0; 4]), Err(FrameError::Empty)));
        let mut cut = encode(&serde_json::json!({"a": "bcdef"})).unwrap();
        cut.truncate(cut.len() - 2);
        let r: Result<Value, _> = read_frame(&mut &cut[..]);
        assert!(matches!(r, Err(FrameError::Io(_))));
        let mut bad = 2u32.to_be_bytes().to_vec();
        bad.extend_from_slice(&[0xff, 0xfe]);
        let r: Result<Value, _> = read_frame(&mut &bad[..]);
        assert!(matches!(r, Err(FrameError::Utf8)));
        let r: Result<Value, _> = read_frame(&mut &[][..]);
        assert!(matches!(r, Err(FrameError::Closed)));
    }

    #[test]
    fn measures_what_encode_writes() {
        let msg = serde_json::json!({"a": [1, 2, 3], "b": "ü\n"});
        assert_eq!(encoded_len(&msg), Some(encode(&msg).unwrap().len() - 4));
    }

    #[test]
    fn refuses_to_encode_oversized() {
        let big = "x".repeat(MAX_FRAME + 1);
        assert!(matches!(encode(&big), Err(FrameError::TooLarge(_))));
    }
}
