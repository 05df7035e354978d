//! How much of a list one answer can carry.

use elevated_proto::frame::encoded_len;
use elevated_proto::MAX_FRAME;

/// Room left in one answer. Lists are built only as far as one frame can
/// carry them (the server keeps exactly the newest that fit): a long
/// history costs one answer's worth of work and memory, not one per row.
pub(super) struct Budget(usize);

/// Bytes of a list answer that are not its entries (at most).
const ENVELOPE: usize = 128;

impl Budget {
    pub(super) fn frame() -> Self {
        // Room for the envelope around the list: version, type, brackets
        // and the `truncated` flag.
        Self(MAX_FRAME - ENVELOPE)
    }

    /// Counts `item` (and its separator) if it fits.
    pub(super) fn take<T: serde::Serialize>(&mut self, item: &T) -> bool {
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
