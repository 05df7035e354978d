//! Where output goes: text or one JSON object on stdout, messages on stderr.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::exit::Failure;

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// `--json` was given.
    pub json: bool,
}

impl Out {
    /// Prints text on stdout as is. A closed stdout is not worth a panic.
    pub fn text(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes());
        let _ = o.flush();
    }

    /// Prints one JSON object on its own line on stdout.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Failure> {
        let s = serde_json::to_string(value)
            .map_err(|e| Failure::protocol(format!("cannot encode the answer as JSON: {e}")))?;
        self.text(&format!("{s}\n"));
        Ok(())
    }

    /// Prints `elevate: MESSAGE` on stderr, every line of it prefixed (a
    /// script filtering stderr by the prefix sees all of a message); blank
    /// lines are left out.
    pub fn note(&self, message: &str) {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(prefixed(message).as_bytes());
    }

    /// Reports a failure: the message on stderr and, with `--json`, the
    /// error object on stdout.
    pub fn failure(&self, f: &Failure) {
        self.note(&f.message);
        if self.json {
            self.error_object(f);
        }
    }

    /// Prints `{"error":{"code":...,"message":...}}` on stdout.
    pub fn error_object(&self, f: &Failure) {
        let obj = serde_json::json!({"error": {"code": f.code, "message": f.message}});
        self.text(&format!("{obj}\n"));
    }

    /// Whether progress may be shown: text mode, with stdout and stderr both
    /// terminals.
    #[must_use]
    pub fn interactive(&self) -> bool {
        !self.json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
    }
}

/// `message` with `elevate: ` before each of its non-blank lines.
#[must_use]
pub fn prefixed(message: &str) -> String {
    message
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("elevate: {l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_prefixed() {
        assert_eq!(prefixed("one"), "elevate: one\n");
        assert_eq!(
            prefixed("bad option\n\nUsage: elevate status\n\n  tip: x\n"),
            "elevate: bad option\nelevate: Usage: elevate status\nelevate:   tip: x\n"
        );
    }
}
