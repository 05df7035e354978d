//! FIDO (`sk-`) signatures. No authenticator is plugged into a test host,
//! so the signatures are made here exactly as one would make them: the
//! authenticator signs SHA-256(application) || flags || counter ||
//! SHA-256(SSHSIG data), and the flags and counter follow the signature.

use ssh_key::private::Ed25519Keypair;
use ssh_key::public::{KeyData, SkEd25519};
use ssh_key::sha2::{Digest, Sha256};
use ssh_key::{
    Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, Signature, SigningKey, SshSig,
};

use super::*;
use crate::approval::test_lab::{check, TEXT};

/// User presence (touched) and user verification (PIN) flags.
const UP: u8 = 0x01;
const UV: u8 = 0x04;

fn raw_sign<K: SigningKey>(key: &K, data: &[u8]) -> Signature {
    key.try_sign(data).unwrap()
}

/// An `sk-ssh-ed25519@openssh.com` key from `seed`: its allowed-signers
/// line for alice@corp, and a signature over `msg` with `flags`.
fn fido_signature(seed: u8, flags: u8, msg: &[u8]) -> (String, String) {
    let pair = Ed25519Keypair::from_seed(&[seed; 32]);
    let key = KeyData::SkEd25519(SkEd25519::new(pair.public, "ssh:"));
    let counter = 7_u32.to_be_bytes();
    let signed = SshSig::signed_data(APPROVAL_NAMESPACE, HashAlg::Sha512, msg).unwrap();
    let mut data = Sha256::digest(b"ssh:").to_vec();
    data.push(flags);
    data.extend(counter);
    data.extend(Sha256::digest(&signed));
    let mut bytes = raw_sign(&PrivateKey::from(pair.clone()), &data)
        .as_bytes()
        .to_vec();
    bytes.push(flags);
    bytes.extend(counter);
    let sig = Signature::new(Algorithm::SkEd25519, bytes).unwrap();
    let sig = SshSig::new(key.clone(), APPROVAL_NAMESPACE, HashAlg::Sha512, sig).unwrap();
    let public = PublicKey::from(key).to_openssh().unwrap();
    (
        format!("alice@corp {public}\n"),
        sig.to_pem(LineEnding::LF).unwrap(),
    )
}

#[test]
fn a_touched_fido_signature_verifies() {
    let (allowed, sig) = fido_signature(1, UP, TEXT);
    assert!(allowed.starts_with("alice@corp sk-ssh-ed25519@openssh.com "));
    let v = check(&allowed, &sig, TEXT).unwrap();
    assert_eq!(v.principals, ["alice@corp"]);
    assert!(!v.user_verified);
    let (allowed, sig) = fido_signature(2, UP | UV, TEXT);
    assert!(check(&allowed, &sig, TEXT).unwrap().user_verified);
    // Flags are signed: claiming a PIN afterwards breaks the signature.
    let (allowed, sig) = fido_signature(3, UP, TEXT);
    let forged = {
        let s = SshSig::from_pem(&sig).unwrap();
        let mut bytes = s.signature().as_bytes().to_vec();
        let at = bytes.len() - 5;
        bytes[at] |= UV;
        let sig = Signature::new(Algorithm::SkEd25519, bytes).unwrap();
        SshSig::new(
            s.public_key().clone(),
            APPROVAL_NAMESPACE,
            HashAlg::Sha512,
            sig,
        )
        .unwrap()
        .to_pem(LineEnding::LF)
        .unwrap()
    };
    assert_eq!(check(&allowed, &forged, TEXT), Err(SigError::BadSignature));
}

#[test]
fn a_fido_signature_without_user_presence_is_refused() {
    for flags in [0, UV] {
        let (allowed, sig) = fido_signature(4, flags, TEXT);
        let e = check(&allowed, &sig, TEXT).unwrap_err();
        assert!(
            matches!(&e, SigError::NoUserPresence { fingerprint } if fingerprint.starts_with("SHA256:")),
            "{flags}: {e:?}"
        );
        assert!(
            e.to_string().contains("signed without user presence"),
            "{e}"
        );
    }
}

#[test]
fn ordinary_keys_never_claim_user_verification() {
    let lab = crate::approval::test_lab::Lab::new();
    let key = lab.key("ed25519");
    let allowed = format!("alice@corp {}\n", lab.public(&key));
    let v = check(&allowed, &lab.sign(&key, TEXT), TEXT).unwrap();
    assert!(!v.user_verified);
}
