//! Requester-typed text (reasons, tickets, comments).
#![forbid(unsafe_code)]

use super::EngineError;

/// Checks requester-typed text: bounded, and free of control characters
/// other than newline and tab (which are kept, and escaped wherever logged).
pub(super) fn check_text(
    what: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, EngineError> {
    let Some(v) = value else { return Ok(None) };
    if v.len() > max {
        return Err(EngineError::BadRequest(format!(
            "{what} is {} bytes long; the limit is {max}",
            v.len()
        )));
    }
    if let Some(c) = v
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(EngineError::BadRequest(format!(
            "{what} contains the control character {c:?}"
        )));
    }
    let trimmed = v.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// `what` followed by the decider's comment, if they gave one: the
/// requester learns why from the refusal itself (`denied by bob: not
/// during the freeze`), not only from `show`.
pub(super) fn with_comment(what: String, comment: Option<&str>) -> String {
    match comment {
        Some(c) => format!("{what}: {c}"),
        None => what,
    }
}
