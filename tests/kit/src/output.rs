//! What a finished program printed, for assertions and failure messages.

use std::process::Output;

/// stdout and stderr, as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// stdout then stderr, joined into one text.
pub fn joined(o: &Output) -> String {
    let (stdout, stderr) = text(o);
    stdout + &stderr
}

/// stdout parsed as JSON; fails the test, showing both streams, when it
/// is not.
pub fn json(o: &Output) -> serde_json::Value {
    let (stdout, stderr) = text(o);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?} {stderr:?}"))
}

/// The exit status; fails the test when the program was killed instead.
pub fn status(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

/// Bytes a program printed, as text.
pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
