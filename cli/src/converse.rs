//! Re-authentication: when the daemon answers a call with a prompt (its PAM
//! service `elevate` asking for a password, a code, a touch...), the user is
//! asked and the answer sent back on the same connection, until the daemon
//! gives the call's real answer. Secrets are read without echo and never
//! printed.

use std::io::{ErrorKind, Write};

use elevated_proto::PromptStyle;

use crate::exit::Failure;
use crate::render::clean;
use crate::tty::{self, AnswerError, MAX_ANSWER};

/// Most prompts one call may bring, so a confused daemon cannot keep the
/// client asking forever: twice the daemon's own bound for one
/// re-authentication, so the client never gives up first.
pub const MAX_PROMPTS: usize = 2 * elevated_proto::MAX_PROMPTS;

/// Where questions are asked and answered.
pub trait Asker {
    /// Asks without echo.
    fn secret(&mut self, prompt: &str) -> Result<Option<String>, AnswerError>;
    /// Asks with echo.
    fn visible(&mut self, prompt: &str) -> Result<Option<String>, AnswerError>;
    /// Shows a message (an error when `error`).
    fn show(&mut self, error: bool, text: &str);
}

/// The answer to send for one prompt: what was typed for `secret` and
/// `visible`, nothing for `info` and `error` (and nothing at end of input,
/// which tells the daemon that the user gave up).
pub fn reply(
    style: PromptStyle,
    text: &str,
    asker: &mut impl Asker,
) -> Result<Option<String>, Failure> {
    let prompt = prompt_text(text);
    let answer = match style {
        PromptStyle::Secret => asker.secret(&prompt),
        PromptStyle::Visible => asker.visible(&prompt),
        PromptStyle::Info | PromptStyle::Error => {
            asker.show(style == PromptStyle::Error, &lines(text));
            return Ok(None);
        }
    };
    match answer {
        Ok(Some(a)) if a.len() > MAX_ANSWER => {
            Err(Failure::usage(AnswerError::TooLong.to_string()))
        }
        Ok(a) => Ok(a),
        Err(e) => Err(Failure::usage(e.to_string())),
    }
}

/// Daemon text with control characters escaped line by line.
fn lines(text: &str) -> String {
    let shown: Vec<String> = text.trim_end().lines().map(clean).collect();
    shown.join("\n")
}

/// `elevate: Password: `: the prompt, marked as ours, ending in a space.
fn prompt_text(text: &str) -> String {
    let mut p = format!("elevate: {}", lines(text));
    if !p.ends_with(char::is_whitespace) {
        p.push(' ');
    }
    p
}

/// The real terminal, or stdin and stderr without one.
#[derive(Debug, Default)]
pub struct Terminal;

impl Asker for Terminal {
    fn secret(&mut self, prompt: &str) -> Result<Option<String>, AnswerError> {
        if tty::open().is_some() {
            return match rpassword::prompt_password(prompt) {
                Ok(s) => Ok(Some(s)),
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(AnswerError::Io(e)),
            };
        }
        tty::say(None, prompt);
        let answer = tty::read_stdin_line();
        tty::say(None, "\n");
        answer
    }

    fn visible(&mut self, prompt: &str) -> Result<Option<String>, AnswerError> {
        match tty::open() {
            Some(mut t) => {
                tty::say(Some(&mut t), prompt);
                tty::read_line(&mut t)
            }
            None => {
                tty::say(None, prompt);
                tty::read_stdin_line()
            }
        }
    }

    fn show(&mut self, _error: bool, text: &str) {
        let mut e = std::io::stderr().lock();
        for line in text.lines() {
            let _ = writeln!(e, "elevate: {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Script {
        answers: Vec<Option<String>>,
        asked: Vec<(String, bool)>,
        shown: Vec<(bool, String)>,
    }

    impl Asker for Script {
        fn secret(&mut self, prompt: &str) -> Result<Option<String>, AnswerError> {
            self.asked.push((prompt.into(), true));
            Ok(self.answers.remove(0))
        }
        fn visible(&mut self, prompt: &str) -> Result<Option<String>, AnswerError> {
            self.asked.push((prompt.into(), false));
            Ok(self.answers.remove(0))
        }
        fn show(&mut self, error: bool, text: &str) {
            self.shown.push((error, text.into()));
        }
    }

    #[test]
    fn prompts_are_answered_and_messages_shown() {
        let mut s = Script {
            answers: vec![Some("hunter2".into()), Some("123456".into()), None],
            ..Script::default()
        };
        let r = reply(PromptStyle::Secret, "Password: ", &mut s).unwrap();
        assert_eq!(r.as_deref(), Some("hunter2"));
        let r = reply(PromptStyle::Visible, "Code:", &mut s).unwrap();
        assert_eq!(r.as_deref(), Some("123456"));
        assert_eq!(reply(PromptStyle::Secret, "Again", &mut s).unwrap(), None);
        assert_eq!(
            reply(PromptStyle::Info, "Touch\x1b[2J the key\n", &mut s).unwrap(),
            None
        );
        assert_eq!(reply(PromptStyle::Error, "Wrong", &mut s).unwrap(), None);
        assert_eq!(
            s.asked,
            [
                ("elevate: Password: ".to_owned(), true),
                ("elevate: Code: ".to_owned(), false),
                ("elevate: Again ".to_owned(), true),
            ]
        );
        assert_eq!(
            s.shown,
            [
                (false, "Touch\\u{1b}[2J the key".to_owned()),
                (true, "Wrong".to_owned())
            ]
        );
    }

    #[test]
    fn long_answers_are_refused() {
        let mut s = Script {
            answers: vec![Some("x".repeat(MAX_ANSWER + 1))],
            ..Script::default()
        };
        let f = reply(PromptStyle::Secret, "Password:", &mut s).unwrap_err();
        assert_eq!(f.status, 2);
        assert!(!f.message.contains("xxx"), "{}", f.message);
    }
}
