//! The wire protocol from untrusted bytes: frame headers, frame bodies and
//! the JSON messages in them, as the daemon (requests) and the client and
//! PAM module (answers) read them.
//!
//! Properties:
//! - nothing panics, whatever the bytes;
//! - a header is accepted only for a body of 1 to `MAX_FRAME` bytes, and
//!   `read_frame` never returns a message from a larger frame;
//! - `read_frame` on a stream and `body_len` + `decode` on the same bytes
//!   agree;
//! - a decoded message encodes again into a frame within the cap (unless
//!   the original was within a few bytes of it: defaults the sender left
//!   out are spelled out) that decodes to an equal message.
#![no_main]

use elevated_proto::frame::{body_len, decode, encode, read_frame};
use elevated_proto::{ClientMessage, FrameError, ServerMessage, MAX_FRAME};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};

/// How much longer a re-encoded message may be than the body it came from:
/// fields with defaults (`"pending":false,"all":false,"unreviewed":false`)
/// are written out even when the sender left them out.
const DEFAULTS_SLACK: usize = 64;

fn round_trip<T>(body: &[u8], msg: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let frame = match encode(msg) {
        Ok(f) => f,
        Err(FrameError::TooLarge(n)) => {
            assert!(
                body.len() + DEFAULTS_SLACK > MAX_FRAME,
                "a {}-byte body re-encodes to {n} bytes",
                body.len()
            );
            return;
        }
        Err(e) => panic!("a decoded message does not encode: {e}"),
    };
    assert!(frame.len() <= 4 + MAX_FRAME);
    let header: [u8; 4] = frame[..4].try_into().expect("4-byte header");
    assert_eq!(body_len(header).expect("own header"), frame.len() - 4);
    let back: T = decode(&frame[4..]).expect("own frame decodes");
    assert_eq!(&back, msg, "round trip changed the message");
}

/// Checks one frame body both ways a peer may read it.
fn body(body: &[u8]) {
    if let Ok(m) = decode::<ClientMessage>(body) {
        round_trip(body, &m);
    }
    if let Ok(m) = decode::<ServerMessage>(body) {
        round_trip(body, &m);
    }
}

fuzz_target!(|data: &[u8]| {
    // Walk the bytes as a stream of frames, by hand and with read_frame.
    let mut rest = data;
    let mut reader = data;
    loop {
        let by_hand = if rest.is_empty() {
            None
        } else if rest.len() < 4 {
            Some(Err(()))
        } else {
            let header: [u8; 4] = rest[..4].try_into().expect("4 bytes");
            let announced = u32::from_be_bytes(header) as usize;
            match body_len(header) {
                Ok(n) => {
                    assert!(n >= 1 && n <= MAX_FRAME && n == announced);
                    if rest.len() - 4 < n {
                        Some(Err(()))
                    } else {
                        let b = &rest[4..4 + n];
                        body(b);
                        rest = &rest[4 + n..];
                        Some(Ok(b))
                    }
                }
                Err(FrameError::Empty) => {
                    assert_eq!(announced, 0);
                    Some(Err(()))
                }
                Err(FrameError::TooLarge(n)) => {
                    assert!(announced > MAX_FRAME && n as usize == announced);
                    Some(Err(()))
                }
                Err(e) => panic!("body_len failed with {e}"),
            }
        };
        let streamed = read_frame::<_, serde_json::Value>(&mut reader);
        match (by_hand, streamed) {
            (None, Err(FrameError::Closed)) => break,
            (None, other) => panic!("end of input read as {other:?}"),
            (Some(Err(())), Ok(v)) => panic!("a bad frame was read as {v}"),
            (Some(Err(())), Err(_)) => break,
            (Some(Ok(b)), Ok(v)) => {
                let expected: serde_json::Value = decode(b).expect("read_frame agreed");
                assert_eq!(v, expected);
            }
            (Some(Ok(b)), Err(FrameError::Utf8 | FrameError::Json(_))) => {
                assert!(decode::<serde_json::Value>(b).is_err());
            }
            (Some(Ok(_)), Err(e)) => panic!("a complete frame failed with {e}"),
        }
    }
});
