//! Re-authentication: the daemon runs the PAM service (default `elevate`)
//! for the requester, relaying every prompt over the requester's own
//! connection. PAM blocks, so it runs on a blocking thread; prompts and
//! answers cross to the connection task through channels.
#![forbid(unsafe_code)]

use std::ffi::{CStr, CString};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use elevated_proto::{PromptStyle, MAX_ANSWER, MAX_PROMPTS};
use pam_client2::{ConversationHandler, ErrorCode, Flag};

/// The PAM conversation, relayed.
struct Relay {
    prompts: tokio::sync::mpsc::Sender<(PromptStyle, String)>,
    answers: Receiver<Option<String>>,
    wait: Duration,
    asked: usize,
}

impl Relay {
    fn ask(&mut self, style: PromptStyle, text: &CStr) -> Result<CString, ErrorCode> {
        if self.asked >= MAX_PROMPTS {
            return Err(ErrorCode::CONV_ERR);
        }
        self.asked += 1;
        let text = text.to_string_lossy().into_owned();
        self.prompts
            .blocking_send((style, text))
            .map_err(|_| ErrorCode::CONV_ERR)?;
        match self.answers.recv_timeout(self.wait) {
            Ok(Some(a)) if a.len() <= MAX_ANSWER => {
                CString::new(a).map_err(|_| ErrorCode::CONV_ERR)
            }
            Ok(Some(_)) => Err(ErrorCode::CONV_ERR),
            Ok(None) => Ok(CString::default()),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                Err(ErrorCode::CONV_ERR)
            }
        }
    }
}

impl ConversationHandler for Relay {
    fn prompt_echo_on(&mut self, prompt: &CStr) -> Result<CString, ErrorCode> {
        self.ask(PromptStyle::Visible, prompt)
    }

    fn prompt_echo_off(&mut self, prompt: &CStr) -> Result<CString, ErrorCode> {
        self.ask(PromptStyle::Secret, prompt)
    }

    fn text_info(&mut self, msg: &CStr) {
        let _ = self.ask(PromptStyle::Info, msg);
    }

    fn error_msg(&mut self, msg: &CStr) {
        let _ = self.ask(PromptStyle::Error, msg);
    }
}

/// Runs `service`'s auth and account stacks for `user`. Each prompt is sent
/// on `prompts`; its answer is awaited on `answers` for at most `wait`.
/// Returns why it failed, in words fit for the audit log.
pub fn authenticate(
    service: &str,
    user: &str,
    prompts: tokio::sync::mpsc::Sender<(PromptStyle, String)>,
    answers: Receiver<Option<String>>,
    wait: Duration,
) -> Result<(), String> {
    let relay = Relay {
        prompts,
        answers,
        wait,
        asked: 0,
    };
    let mut ctx = pam_client2::Context::new(service, Some(user), relay)
        .map_err(|e| format!("PAM service {service} could not start: {e}"))?;
    ctx.authenticate(Flag::DISALLOW_NULL_AUTHTOK)
        .map_err(|e| format!("PAM service {service} refused authentication: {e}"))?;
    ctx.acct_mgmt(Flag::DISALLOW_NULL_AUTHTOK)
        .map_err(|e| format!("PAM service {service} refused the account: {e}"))?;
    Ok(())
}
