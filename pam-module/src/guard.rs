//! Keeps panics inside the module: a panic becomes `PAM_ABORT` and writes
//! nothing to the login's terminal.
#![forbid(unsafe_code)]

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::core::PamResult;

thread_local! {
    /// Set while this thread runs module code.
    static IN_MODULE: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Installs, once, a panic hook that is silent for threads running module
/// code and hands every other panic to the hook that was there before.
fn install_quiet_hook() {
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_MODULE.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it is caught and returned as its message
/// instead of unwinding into libpam.
pub fn guarded<F: FnOnce() -> PamResult>(f: F) -> Result<PamResult, String> {
    install_quiet_hook();
    let was = IN_MODULE.with(|c| c.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    IN_MODULE.with(|c| c.set(was));
    outcome.map_err(|payload| {
        let msg = message(payload.as_ref());
        // Dropping a payload may itself panic; never let that escape.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))).map_err(std::mem::forget);
        msg
    })
}

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_the_process_lives_on() {
        let r = guarded(|| panic!("boom {}", 42));
        assert_eq!(r, Err("boom 42".to_owned()));
        let r = guarded(|| std::panic::panic_any(7_u8));
        assert_eq!(r, Err("a panic without a message".to_owned()));
        // Still usable afterwards, and the flag is cleared.
        assert_eq!(guarded(|| PamResult::Success), Ok(PamResult::Success));
        assert!(!IN_MODULE.with(Cell::get));
    }

    #[test]
    fn a_panic_inside_the_core_becomes_abort() {
        struct Exploding;
        impl crate::core::PamEnv for Exploding {
            fn user(&mut self) -> Option<String> {
                panic!("the handle broke")
            }
            fn service(&self) -> Option<String> {
                None
            }
            fn rhost(&self) -> Option<String> {
                None
            }
            fn tty(&self) -> Option<String> {
                None
            }
            fn prompt(&mut self, _: &str, _: bool) -> Option<String> {
                None
            }
            fn info(&mut self, _: &str) {}
            fn error(&mut self, _: &str) {}
            fn is_root(&self, _: &str) -> bool {
                false
            }
            fn in_any_group(&self, _: &str, _: &[String]) -> bool {
                false
            }
            fn log(&mut self, _: crate::core::LogLevel, _: &str) {}
        }
        let opts = crate::options::Options::default();
        let r = guarded(|| crate::core::account(&mut Exploding, &opts, false));
        assert_eq!(r.unwrap_or(PamResult::Abort), PamResult::Abort);
        let r = guarded(|| crate::core::session(&mut Exploding, &opts, true));
        assert!(r.is_err());
    }
}
