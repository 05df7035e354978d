//! How much of a list one answer can carry. Lists are built only as far
//! as one frame can carry them: a long history costs one answer's worth of
//! work and memory, not one per row. The engine counts while it builds a
//! list; the server counts again while it encodes the answer, and keeps
//! exactly the newest entries that fit.
#![forbid(unsafe_code)]

use elevated_proto::frame::encoded_len;
use elevated_proto::MAX_FRAME;

/// Room left in one answer, in bytes of compact JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget(usize);

/// Bytes of a list answer that are not its entries (at most).
const ENVELOPE: usize = 128;

impl Budget {
    /// A whole frame, less room for the envelope around the list (version,
    /// type, brackets and the `truncated` flag).
    #[must_use]
    pub fn frame() -> Self {
        Self(MAX_FRAME - ENVELOPE)
    }

    /// A whole frame, less the `envelope` bytes of the answer measured
    /// without its entries. The first entry has no comma before it, which
    /// [`Budget::take`] counts for every entry: one byte is given back.
    #[must_use]
    pub fn around(envelope: usize) -> Self {
        Self(MAX_FRAME.saturating_sub(envelope).saturating_add(1))
    }

    /// Counts `item` (and its separator) if it fits. An item that cannot be
    /// encoded never fits.
    pub fn take<T: serde::Serialize>(&mut self, item: &T) -> bool {
        let n = encoded_len(item).unwrap_or(usize::MAX).saturating_add(1);
        match self.0.checked_sub(n) {
            Some(left) => {
                self.0 = left;
                true
            }
            None => false,
        }
    }
}
