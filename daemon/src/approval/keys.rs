//! Which public keys can sign approvals, and how they are named.

use ssh_key::public::KeyData;
use ssh_key::HashAlg;

/// Key types whose signatures are verified.
pub const SUPPORTED_KEY_TYPES: [&str; 7] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Smallest and largest RSA modulus verified, in bits.
pub const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// What a word in the key-type position of a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyTypeWord {
    /// One of [`SUPPORTED_KEY_TYPES`].
    Supported,
    /// A key type OpenSSH knows that cannot sign approvals here.
    Refused(&'static str),
    /// Not a key type.
    Unknown,
}

/// Classifies a word that may be a key type.
pub(crate) fn key_type_word(word: &str) -> KeyTypeWord {
    if SUPPORTED_KEY_TYPES.contains(&word) {
        KeyTypeWord::Supported
    } else if word.ends_with("-cert-v01@openssh.com") {
        KeyTypeWord::Refused(
            "certificates are not supported: list the approver's plain public key \
             (the .pub file, not the -cert.pub one)",
        )
    } else if word == "ssh-dss" {
        KeyTypeWord::Refused("DSA keys (ssh-dss) are not supported: use an ed25519 key")
    } else {
        KeyTypeWord::Unknown
    }
}

/// The list of supported key types, for messages.
pub(crate) fn supported_list() -> String {
    SUPPORTED_KEY_TYPES.join(", ")
}

/// Refuses keys that cannot be verified: key types outside
/// [`SUPPORTED_KEY_TYPES`] and RSA moduli outside [`RSA_BITS`].
pub(crate) fn check_key(key: &KeyData) -> Result<(), String> {
    match key {
        // Every curve ssh-key knows (P-256, P-384, P-521) is enabled.
        KeyData::Ed25519(_)
        | KeyData::Ecdsa(_)
        | KeyData::SkEd25519(_)
        | KeyData::SkEcdsaSha2NistP256(_) => Ok(()),
        KeyData::Rsa(k) => {
            let bits = k.n.as_positive_bytes().map_or(0, bit_length);
            if RSA_BITS.contains(&bits) {
                Ok(())
            } else {
                Err(format!(
                    "RSA key of {bits} bits: only {} to {} bits are supported; \
                     use an ed25519 key or a 3072-bit RSA key",
                    RSA_BITS.start(),
                    RSA_BITS.end()
                ))
            }
        }
        other => Err(format!(
            "key type {} is not supported; supported: {}",
            other.algorithm(),
            supported_list()
        )),
    }
}

fn bit_length(bytes: &[u8]) -> usize {
    let bytes = match bytes.iter().position(|&b| b != 0) {
        Some(i) => &bytes[i..],
        None => return 0,
    };
    let lead = bytes.first().map_or(0, |b| b.leading_zeros() as usize);
    bytes.len() * 8 - lead
}

/// The SHA-256 fingerprint of a key as `ssh-keygen -l` prints it
/// (`SHA256:` and unpadded base64).
#[must_use]
pub fn fingerprint(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}
