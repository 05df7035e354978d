//! The same allowed-signers files, judged by this module and by
//! `ssh-keygen -Y verify`: both must accept or both refuse.

use super::sshsig::SigError;
use super::test_lab::{check, Lab, TEXT};

/// Whether this module lets `principal` approve with `sig`: the file
/// parses, the signature verifies and an entry vouches for `principal`.
fn ours(allowed: &str, principal: &str, sig: &str) -> bool {
    let signers = super::AllowedSigners::parse_in(
        std::path::Path::new("allowed_signers"),
        allowed,
        &jiff::tz::TimeZone::UTC,
    );
    signers.is_ok() && check(allowed, sig, TEXT).is_ok_and(|v| v.matches_principal(principal))
}

#[test]
fn files_are_judged_as_openssh_judges_them() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let other = lab.key("ed25519");
    let sig = lab.sign(&key, TEXT);
    let k = lab.public(&key);
    let o = lab.public(&other);
    // `now` is 2030-06-15T12:00:00Z; times are given with Z so that the
    // local time zone does not matter.
    let files = [
        format!("alice@corp {k}"),
        format!("alice@corp {k} a comment with spaces"),
        format!("alice@corp\t{k}\n"),
        format!("alice@corp {k}\r\n"),
        format!("   alice@corp   {k}   "),
        format!("# alice@corp {k}"),
        format!("bob@corp {k}"),
        format!("alice@corp {o}"),
        format!("alice@corp {o}\nalice@corp {k}"),
        format!("\"alice@corp\" {k}"),
        format!("alice@corp namespaces=\"elevated-approval\" {k}"),
        format!("alice@corp NameSpaces=\"elevated-*\" {k}"),
        format!("alice@corp namespaces=\"git, elevated-approval\" {k}"),
        format!("alice@corp namespaces=\"git,elevated-approval\" {k}"),
        format!("alice@corp namespaces=\"git\" {k}"),
        format!("alice@corp namespaces=\"*,!elevated-*\" {k}"),
        format!("alice@corp namespaces=\"e\\\"x,elevated-approval\" {k}"),
        format!("alice@corp valid-after=\"20300101Z\" {k}"),
        format!("alice@corp valid-after=\"20310101Z\" {k}"),
        format!("alice@corp valid-before=\"20300615115959Z\" {k}"),
        format!("alice@corp valid-before=\"203006151200UTC\" {k}"),
        format!("alice@corp valid-after=\"20300101Z\",valid-before=\"20310101Z\" {k}"),
        format!("alice@corp valid-before=\"20000101\" {k}"),
        // Refused by both (bad options or lines).
        format!("alice@corp namespaces=elevated-approval {k}"),
        format!("alice@corp namespaces=\"elevated-approval\", {k}"),
        format!("alice@corp namespaces=\"a\",namespaces=\"elevated-approval\" {k}"),
        format!("alice@corp valid-after=\"2030010\" {k}"),
        format!("alice@corp valid-after=\"20310101Z\",valid-before=\"20300101Z\" {k}"),
        format!("alice@corp foo {k}"),
        "alice@corp".to_owned(),
    ];
    for file in &files {
        let theirs = lab.openssh_accepts(file, "alice@corp", &sig, TEXT);
        assert_eq!(ours(file, "alice@corp", &sig), theirs, "{file:?}");
    }
}

#[test]
fn an_unsupported_rsa_key_size_is_refused_clearly() {
    let lab = Lab::new();
    let key = lab.key("rsa -b 1024");
    let sig = lab.sign(&key, TEXT);
    let e = check("", &sig, TEXT).unwrap_err();
    assert_eq!(
        e,
        SigError::UnsupportedKey {
            reason: "RSA key of 1024 bits: only 2048 to 4096 bits are supported; \
                     use an ed25519 key or a 3072-bit RSA key"
                .into()
        }
    );
}
