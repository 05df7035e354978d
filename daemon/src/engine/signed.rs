//! Decisions by SSH signature: checking the signature over a request's
//! decision text, then who signed it.

use jiff::Timestamp;

use super::approve::decision_text;
use super::view::describe_approvers;
use super::{Engine, EngineError};
use crate::approval::signers::AllowedSigners;
use crate::approval::sshsig::{self, Verified};
use crate::store::RequestRow;
use elevated_proto::Verdict;

impl Engine {
    /// Verifies `signature` over `row`'s decision text for `verdict`.
    /// Every error here comes before anything is known about the signer,
    /// so the caller may answer it like an unknown id.
    pub(super) fn verify_signed(
        &self,
        row: &RequestRow,
        verdict: Verdict,
        signature: &str,
        now: Timestamp,
    ) -> Result<Verified, EngineError> {
        let forbid = |m: String| EngineError::Forbidden(m);
        let path = self.config().settings.daemon.allowed_signers.clone();
        let signers = AllowedSigners::load(&path)
            .map_err(|e| forbid(format!("cannot check signatures: {e}")))?;
        let text = decision_text(row, verdict);
        sshsig::verify(
            &signers,
            elevated_proto::APPROVAL_NAMESPACE,
            text.as_bytes(),
            signature,
            now,
        )
        .map_err(|e| forbid(format!("signature refused: {e}")))
    }

    /// Who made a verified signature on `row`: `principal:P` for the first
    /// of the rule's approver principals the key may sign as, and the key's
    /// fingerprint. A key that may sign as a principal `users.d` maps to the
    /// requester is the requester's own, whichever principal it is also
    /// listed for.
    pub(super) fn signer_of(
        &self,
        row: &RequestRow,
        verified: &Verified,
    ) -> Result<(String, Option<String>), EngineError> {
        let forbid = |m: String| EngineError::Forbidden(m);
        let own = self
            .config()
            .principals
            .principals_of(&row.user)
            .find(|p| verified.matches_principal(p))
            .map(str::to_owned);
        if let Some(p) = own {
            return Err(forbid(format!(
                "nobody approves or denies their own request: key {} signs as {p}, \
                 which users.d maps to the requester {}",
                verified.fingerprint, row.user
            )));
        }
        let who = describe_approvers(&row.approval.approvers);
        let principal = row
            .approval
            .approvers
            .principals
            .iter()
            .find(|p| verified.matches_principal(p))
            .ok_or_else(|| {
                forbid(format!(
                    "key {} (principals {}) is not among the approvers of request {} ({who})",
                    verified.fingerprint,
                    verified.principals.join(","),
                    row.id
                ))
            })?;
        if row.approval.verify_required && !verified.user_verified {
            return Err(forbid(format!(
                "request {} needs a signature from a FIDO key that verified the user \
                 (approval.verify_required); key {} gave none: sign with a key made by \
                 ssh-keygen -t ed25519-sk -O verify-required, and enter its PIN",
                row.id, verified.fingerprint
            )));
        }
        Ok((
            format!("principal:{principal}"),
            Some(verified.fingerprint.clone()),
        ))
    }
}
