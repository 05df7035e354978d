use super::*;
use crate::approval::test_lab::{check, now, Lab, TEXT};

#[test]
fn good_signatures_verify_for_every_key_type() {
    let lab = Lab::new();
    for kind in [
        "ed25519",
        "ecdsa -b 256",
        "ecdsa -b 384",
        "ecdsa -b 521",
        "rsa -b 3072",
    ] {
        let key = lab.key(kind);
        let allowed = format!("alice@corp {} alice\n", lab.public(&key));
        let sig = lab.sign(&key, TEXT);
        let v = check(&allowed, &sig, TEXT).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(v.fingerprint, lab.fingerprint(&key), "{kind}");
        assert!(v.fingerprint.starts_with("SHA256:"));
        assert_eq!(v.principals, ["alice@corp"], "{kind}");
        assert!(v.matches_principal("alice@corp"), "{kind}");
        assert!(!v.matches_principal("bob@corp"), "{kind}");
        assert!(
            lab.openssh_accepts(&allowed, "alice@corp", &sig, TEXT),
            "{kind}"
        );
        assert!(
            !lab.openssh_accepts(&allowed, "bob@corp", &sig, TEXT),
            "{kind}"
        );
    }
}

#[test]
fn sha256_hashed_signatures_verify() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let allowed = format!("alice@corp {}\n", lab.public(&key));
    let sig = lab.sign_with(&key, APPROVAL_NAMESPACE, TEXT, &["-O", "hashalg=sha256"]);
    assert!(check(&allowed, &sig, TEXT).is_ok());
    let rsa = lab.key("rsa -b 2048");
    let allowed = format!("alice@corp {}\n", lab.public(&rsa));
    let sig = lab.sign_with(&rsa, APPROVAL_NAMESPACE, TEXT, &["-O", "hashalg=sha256"]);
    assert!(check(&allowed, &sig, TEXT).is_ok());
}

#[test]
fn wrong_namespace_is_refused() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let allowed = format!("alice@corp {}\n", lab.public(&key));
    let sig = lab.sign_with(&key, "other", TEXT, &[]);
    let e = check(&allowed, &sig, TEXT).unwrap_err();
    assert_eq!(
        e,
        SigError::WrongNamespace {
            found: "other".into(),
            expected: APPROVAL_NAMESPACE.into()
        }
    );
    assert_eq!(
        e.to_string(),
        "signed for namespace \"other\", expected \"elevated-approval\"; \
         sign with: ssh-keygen -Y sign -n elevated-approval -f KEY FILE"
    );
    assert!(!lab.openssh_accepts(&allowed, "alice@corp", &sig, TEXT));
}

#[test]
fn a_signature_over_another_text_is_refused() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let allowed = format!("alice@corp {}\n", lab.public(&key));
    let sig = lab.sign(
        &key,
        b"elevated decision v2\ndecision: approve\nrequest: k3f9x2mb\nround: 0\nhost: db1\n",
    );
    assert_eq!(check(&allowed, &sig, TEXT), Err(SigError::BadSignature));
    assert!(!lab.openssh_accepts(&allowed, "alice@corp", &sig, TEXT));
    // A key other than the one inside the signature cannot be slipped in:
    // the signature names its key, and that key must verify it.
    let ecdsa = lab.key("ecdsa");
    let sig = lab.sign(&ecdsa, b"other text");
    assert_eq!(check(&allowed, &sig, TEXT), Err(SigError::BadSignature));
}

#[test]
fn an_unlisted_key_is_refused() {
    let lab = Lab::new();
    let listed = lab.key("ed25519");
    let other = lab.key("ed25519");
    let allowed = format!("alice@corp {}\n", lab.public(&listed));
    let sig = lab.sign(&other, TEXT);
    let e = check(&allowed, &sig, TEXT).unwrap_err();
    let fingerprint = lab.fingerprint(&other);
    assert_eq!(
        e.to_string(),
        format!("the signing key {fingerprint} is not in allowed_signers")
    );
    assert_eq!(e, SigError::UnknownKey { fingerprint });
    assert!(!lab.openssh_accepts(&allowed, "alice@corp", &sig, TEXT));
    // An empty file lists nobody.
    assert!(matches!(
        check("", &sig, TEXT),
        Err(SigError::UnknownKey { .. })
    ));
}

#[test]
fn a_listed_key_outside_its_namespaces_or_window_is_refused() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let k = lab.public(&key);
    let sig = lab.sign(&key, TEXT);
    let fp = lab.fingerprint(&key);
    let cases = [
        (
            format!("alice@corp namespaces=\"other,git\" {k}"),
            "line 1: namespaces=\"other,git\" does not allow namespace \"elevated-approval\"",
        ),
        (
            format!("alice@corp valid-before=\"20300615115959Z\" {k}"),
            "line 1: expired at valid-before 2030-06-15T11:59:59Z",
        ),
        (
            format!("alice@corp valid-after=\"203006151201Z\" {k}"),
            "line 1: not valid before valid-after 2030-06-15T12:01:00Z",
        ),
    ];
    for (allowed, reason) in cases {
        let e = check(&allowed, &sig, TEXT).unwrap_err();
        assert_eq!(
            e,
            SigError::KeyNotAllowed {
                fingerprint: fp.clone(),
                namespace: APPROVAL_NAMESPACE.into(),
                reasons: vec![reason.into()],
            }
        );
        assert!(
            e.to_string().starts_with(&format!(
                "the signing key {fp} is in allowed_signers, but no entry allows it \
                 for namespace \"elevated-approval\" now: line 1: "
            )),
            "{e}"
        );
        assert!(
            !lab.openssh_accepts(&allowed, "alice@corp", &sig, TEXT),
            "{allowed}"
        );
    }
    // The window's ends are included.
    let allowed = format!("alice@corp valid-after=\"20300615120000Z\" {k}");
    assert!(check(&allowed, &sig, TEXT).is_ok());
    let allowed = format!("alice@corp valid-before=\"20300615120000Z\" {k}");
    assert!(check(&allowed, &sig, TEXT).is_ok());
    let allowed = format!("alice@corp namespaces=\"git,elevated-*\" {k}");
    assert!(check(&allowed, &sig, TEXT).is_ok());
    assert!(lab.openssh_accepts(&allowed, "alice@corp", &sig, TEXT));
}

#[test]
fn only_vouching_entries_give_principals() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let k = lab.public(&key);
    let sig = lab.sign(&key, TEXT);
    let allowed = format!(
        "old@corp valid-before=\"20200101Z\" {k}\n\
         git@corp namespaces=\"git\" {k}\n\
         *@corp,!mallory@corp {k}\n\
         mallory@corp {k}\n"
    );
    let v = check(&allowed, &sig, TEXT).unwrap();
    assert_eq!(v.principals, ["*@corp,!mallory@corp", "mallory@corp"]);
    for (who, yes) in [
        ("bob@corp", true),
        ("mallory@corp", true), // through its own entry
        ("old@corp", true),     // through the wildcard
        ("bob@other", false),
        ("BOB@corp", true),
        ("bob@CORP", false),
    ] {
        assert_eq!(v.matches_principal(who), yes, "{who}");
        assert_eq!(lab.openssh_accepts(&allowed, who, &sig, TEXT), yes, "{who}");
    }
}

#[test]
fn wildcards_and_negation_agree_with_openssh() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let k = lab.public(&key);
    let sig = lab.sign(&key, TEXT);
    let lists = [
        "*@corp,!mallory@corp",
        "!mallory@corp,*@corp",
        "alice@corp,bob@corp",
        "a?ice@corp",
        "*",
        "*@*.corp,!*@dev.corp",
        "alice@corp,",
        "\"alice smith@corp,*@x\"",
    ];
    let who = [
        "alice@corp",
        "bob@corp",
        "mallory@corp",
        "alice@eu.corp",
        "alice@dev.corp",
        "aXice@corp",
        "alice smith@corp",
        "x",
    ];
    for list in lists {
        let allowed = format!("{list} {k}\n");
        let v = check(&allowed, &sig, TEXT).unwrap();
        for p in who {
            let ours = v.matches_principal(p);
            assert_eq!(
                ours,
                lab.openssh_accepts(&allowed, p, &sig, TEXT),
                "{list} / {p}"
            );
        }
    }
}

#[test]
fn garbage_and_truncated_signatures_are_refused() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let allowed = format!("alice@corp {}\n", lab.public(&key));
    let sig = lab.sign(&key, TEXT);
    let malformed = |s: &str| match check(&allowed, s, TEXT) {
        Err(SigError::Malformed { detail }) => detail,
        other => panic!("{other:?} for {s:?}"),
    };
    for garbage in ["", "   \n", "hello", "ssh-ed25519 AAAA", &sig[1..]] {
        assert_eq!(check(&allowed, garbage, TEXT), Err(SigError::NotArmored));
    }
    assert_eq!(
        SigError::NotArmored.to_string(),
        "not an SSH signature: expected the text `ssh-keygen -Y sign` writes, from \
         -----BEGIN SSH SIGNATURE----- to -----END SSH SIGNATURE-----"
    );
    let half = &sig[..sig.len() / 2];
    assert_eq!(
        malformed(half),
        "the END line is missing, so it was cut short"
    );
    let lines: Vec<&str> = sig.lines().collect();
    let mut cut = lines.clone();
    cut.remove(2);
    let detail = malformed(&cut.join("\n"));
    assert!(detail.starts_with("its contents do not decode"), "{detail}");
    assert_eq!(
        malformed(&format!("{}\n{}", lines[0], lines[lines.len() - 1])),
        "there is nothing between the BEGIN and END lines"
    );
    assert_eq!(
        malformed(&sig.replace("U1NIU0lH", "U1NIU0l*")),
        "the text between BEGIN and END is not base64"
    );
    assert_eq!(
        malformed(&format!("{sig}trailing")),
        "there is text after the END line"
    );
    // "SSHSIG" magic altered.
    let detail = malformed(&sig.replace("U1NIU0lH", "U1NIU0lI"));
    assert!(detail.starts_with("its contents do not decode"), "{detail}");
    // A damaged signature value, the rest intact.
    let last_data = lines.len() - 2;
    let mut bad = lines.clone();
    let line = bad[last_data].to_owned();
    let flipped = if line.starts_with('A') { "B" } else { "A" };
    let damaged = format!("{flipped}{}", &line[1..]);
    bad[last_data] = &damaged;
    assert_eq!(
        check(&allowed, &bad.join("\n"), TEXT),
        Err(SigError::BadSignature)
    );
    let long = "A".repeat(MAX_SIGNATURE_LEN + 1);
    assert_eq!(
        check(&allowed, &long, TEXT),
        Err(SigError::TooLong {
            len: MAX_SIGNATURE_LEN + 1,
            max: MAX_SIGNATURE_LEN
        })
    );
}

#[test]
fn rewrapped_and_crlf_signatures_still_verify() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let allowed = format!("alice@corp {}\n", lab.public(&key));
    let sig = lab.sign(&key, TEXT);
    assert!(check(&allowed, &sig.replace('\n', "\r\n"), TEXT).is_ok());
    let lines: Vec<&str> = sig.lines().collect();
    let body: String = lines[1..lines.len() - 1].concat();
    let one_line = format!("  {}\n{body}\n{}\n\n", lines[0], lines[lines.len() - 1]);
    assert!(check(&allowed, &one_line, TEXT).is_ok());
    let wrapped: Vec<String> = body
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let sixty_four = format!(
        "{}\n{}\n{}",
        lines[0],
        wrapped.join("\n"),
        lines[lines.len() - 1]
    );
    assert!(check(&allowed, &sixty_four, TEXT).is_ok());
}

#[test]
fn time_is_the_callers() {
    let lab = Lab::new();
    let key = lab.key("ed25519");
    let allowed = format!(
        "alice@corp valid-before=\"20300101Z\" {}\n",
        lab.public(&key)
    );
    let sig = lab.sign(&key, TEXT);
    let signers = crate::approval::AllowedSigners::parse_in(
        std::path::Path::new("x"),
        &allowed,
        &jiff::tz::TimeZone::UTC,
    )
    .unwrap();
    let early: Timestamp = "2029-12-31T23:59:59Z".parse().unwrap();
    assert!(verify(&signers, APPROVAL_NAMESPACE, TEXT, &sig, early).is_ok());
    assert!(verify(&signers, APPROVAL_NAMESPACE, TEXT, &sig, now()).is_err());
}
