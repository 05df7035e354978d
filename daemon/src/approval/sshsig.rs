//! Verifying an `ssh-keygen -Y sign` signature (the SSHSIG format) against
//! the allowed-signers file, as `ssh-keygen -Y verify` does.

use jiff::Timestamp;
use ssh_key::{PublicKey, SshSig};

use super::keys::{check_key, fingerprint};
use super::pattern::match_list;
use super::signer_options::shown;
use super::signers::AllowedSigners;

/// The namespace approvers sign approval texts for.
pub use elevated_proto::APPROVAL_NAMESPACE;

/// Longest signature text accepted, in bytes. A 4096-bit RSA signature
/// takes about 1.5 KiB.
pub const MAX_SIGNATURE_LEN: usize = 16 * 1024;

const BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const END: &str = "-----END SSH SIGNATURE-----";
/// The line width of the armour `ssh-keygen` writes.
const LINE_WIDTH: usize = 70;

/// A signature that verified, and who may have made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signing key's fingerprint, as `ssh-keygen -l` prints it
    /// (`SHA256:...`).
    pub fingerprint: String,
    /// The principals pattern list of every allowed-signers entry that
    /// vouches for the signature (same key, namespace allowed, valid now),
    /// one list per entry, in file order, as written (for example
    /// `*@corp,!mallory@corp`). Never empty.
    pub principals: Vec<String>,
    /// Whether a FIDO authenticator (an `sk-` key) says it verified the
    /// user (PIN or biometrics: the UV flag). Always `false` for other keys,
    /// which cannot prove anything about who used them.
    pub user_verified: bool,
}

impl Verified {
    /// Whether `principal` may have signed: some vouching entry's pattern
    /// list matches it, with `!` negation applying within that entry only.
    /// This is the check `ssh-keygen -Y verify -I principal` makes.
    #[must_use]
    pub fn matches_principal(&self, principal: &str) -> bool {
        self.principals
            .iter()
            .any(|list| match_list(principal, list))
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// The text is larger than [`MAX_SIGNATURE_LEN`].
    #[error("the signature is {len} bytes, more than the limit of {max} bytes")]
    TooLong {
        /// Its length.
        len: usize,
        max: usize,
    },
    /// The text is not an armoured SSH signature at all.
    #[error(
        "not an SSH signature: expected the text `ssh-keygen -Y sign` writes, \
         from {BEGIN} to {END}"
    )]
    NotArmored,
    /// Armoured, but the contents cannot be decoded.
    #[error("damaged SSH signature: {detail}; copy the whole .sig file again")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// Made with a key this daemon cannot verify.
    #[error("the signature was made with an unsupported key: {reason}")]
    UnsupportedKey {
        /// Which key and why.
        reason: String,
    },
    /// Signed for another purpose than the one expected.
    #[error(
        "signed for namespace \"{found}\", expected \"{expected}\"; \
         sign with: ssh-keygen -Y sign -n {expected} -f KEY FILE"
    )]
    WrongNamespace {
        /// The signature's namespace (cut and escaped).
        found: String,
        /// The namespace expected.
        expected: String,
    },
    /// A FIDO (`sk-`) signature made without the user touching the
    /// authenticator.
    #[error(
        "the FIDO key {fingerprint} signed without user presence (nobody touched it); \
         sign again without -O no-touch-required and touch the key when it blinks"
    )]
    NoUserPresence {
        /// The key's fingerprint.
        fingerprint: String,
    },
    /// The signature does not verify over the message.
    #[error(
        "the signature does not match the text: it was made over a different \
         text, or altered"
    )]
    BadSignature,
    /// A valid signature by a key that no entry lists.
    #[error("the signing key {fingerprint} is not in allowed_signers")]
    UnknownKey {
        /// The key's fingerprint.
        fingerprint: String,
    },
    /// A valid signature by a listed key, but no entry for that key allows
    /// the namespace at this time.
    #[error(
        "the signing key {fingerprint} is in allowed_signers, but no entry allows it \
         for namespace \"{namespace}\" now: {}",
        reasons.join("; ")
    )]
    KeyNotAllowed {
        /// The key's fingerprint.
        fingerprint: String,
        /// The namespace checked.
        namespace: String,
        /// Per entry, with its line: why it does not vouch.
        reasons: Vec<String>,
    },
}

/// Verifies `signature` (the armoured text `ssh-keygen -Y sign -n
/// NAMESPACE` writes) over `message` for `namespace`, at time `now`.
///
/// In order: the text must decode; the signature's namespace must be
/// `namespace`; it must verify over `message` with the key it carries; and
/// some entry of `signers` must list that key, allow `namespace` (when it
/// has `namespaces=`) and be valid at `now`. The caller then checks the
/// approver with [`Verified::matches_principal`].
pub fn verify(
    signers: &AllowedSigners,
    namespace: &str,
    message: &[u8],
    signature: &str,
    now: Timestamp,
) -> Result<Verified, SigError> {
    let sig = decode(signature)?;
    if sig.namespace() != namespace {
        return Err(SigError::WrongNamespace {
            found: shown(sig.namespace()),
            expected: namespace.to_owned(),
        });
    }
    let key_data = sig.public_key();
    check_key(key_data).map_err(|reason| SigError::UnsupportedKey { reason })?;
    PublicKey::from(key_data.clone())
        .verify(namespace, message, &sig)
        .map_err(|_| SigError::BadSignature)?;
    let fingerprint = fingerprint(key_data);
    // The flags of a FIDO signature are signed with it, so once it verified
    // they are the authenticator's word. Without user presence, malware on
    // the approver's machine could have signed with the plugged-in key.
    let flags = sk_flags(key_data, &sig);
    if flags.is_some_and(|f| f & SK_USER_PRESENT == 0) {
        return Err(SigError::NoUserPresence { fingerprint });
    }
    let user_verified = flags.is_some_and(|f| f & SK_USER_VERIFIED != 0);
    let mut principals = Vec::new();
    let mut reasons = Vec::new();
    for entry in signers
        .entries()
        .iter()
        .filter(|e| e.key().key_data() == key_data)
    {
        match entry.refusal(namespace, now) {
            None => principals.push(entry.principals().to_owned()),
            Some(reason) => reasons.push(reason),
        }
    }
    if !principals.is_empty() {
        Ok(Verified {
            fingerprint,
            principals,
            user_verified,
        })
    } else if reasons.is_empty() {
        Err(SigError::UnknownKey { fingerprint })
    } else {
        Err(SigError::KeyNotAllowed {
            fingerprint,
            namespace: namespace.to_owned(),
            reasons,
        })
    }
}

/// The FIDO user-presence flag (`SSH_SK_USER_PRESENCE_REQD` in OpenSSH).
const SK_USER_PRESENT: u8 = 0x01;
/// The FIDO user-verification flag (`SSH_SK_USER_VERIFICATION_REQD`).
const SK_USER_VERIFIED: u8 = 0x04;

/// The flags byte of a FIDO (`sk-`) signature, `None` for other keys. The
/// signature's bytes end with the flags and a 4-byte counter.
fn sk_flags(key: &ssh_key::public::KeyData, sig: &SshSig) -> Option<u8> {
    if !matches!(
        key,
        ssh_key::public::KeyData::SkEd25519(_) | ssh_key::public::KeyData::SkEcdsaSha2NistP256(_)
    ) {
        return None;
    }
    let bytes = sig.signature().as_bytes();
    // A signature too short to hold them did not verify; treat it as
    // carrying no flags at all, which refuses it.
    Some(
        bytes
            .len()
            .checked_sub(5)
            .and_then(|i| bytes.get(i))
            .copied()
            .unwrap_or(0),
    )
}

/// Decodes the armoured text. Blanks around it, Windows line ends and any
/// re-wrapping of the base64 lines are tolerated; anything else is not.
fn decode(signature: &str) -> Result<SshSig, SigError> {
    if signature.len() > MAX_SIGNATURE_LEN {
        return Err(SigError::TooLong {
            len: signature.len(),
            max: MAX_SIGNATURE_LEN,
        });
    }
    let malformed = |detail: &str| SigError::Malformed {
        detail: detail.to_owned(),
    };
    let body = signature
        .trim()
        .strip_prefix(BEGIN)
        .ok_or(SigError::NotArmored)?;
    let Some(end) = body.find(END) else {
        return Err(malformed("the END line is missing, so it was cut short"));
    };
    if !body[end + END.len()..].trim().is_empty() {
        return Err(malformed("there is text after the END line"));
    }
    let base64: String = body[..end].split_whitespace().collect();
    if base64.is_empty() {
        return Err(malformed(
            "there is nothing between the BEGIN and END lines",
        ));
    }
    if !base64
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return Err(malformed("the text between BEGIN and END is not base64"));
    }
    let mut pem = String::with_capacity(base64.len() + base64.len() / LINE_WIDTH + 80);
    pem.push_str(BEGIN);
    pem.push('\n');
    for chunk in base64.as_bytes().chunks(LINE_WIDTH) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str(END);
    pem.push('\n');
    SshSig::from_pem(&pem).map_err(|e| SigError::Malformed {
        detail: format!("its contents do not decode ({e})"),
    })
}

#[cfg(test)]
#[path = "sshsig_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "sshsig_fido_tests.rs"]
mod fido_tests;
