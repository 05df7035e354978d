use super::*;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDt653NEkE5+TJZJWSSY4DYhgFZO6m1glxONJ5d1uQfw";
const P256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJg6jWKfWTYKJ4Y8oCtNh+pJg8Im9r4MkR9gra8v6r4cfIsGGWmXzdwrxQIaNymuX0iu6Qim+yloS3ZznRxcEzw=";
const P384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBG2qy4Bx13n6BbctbdulstaVZrXbLQd7HcPQKCgqy1TcxY2jFIwPRbgXL7hSzoz7zqk0ccJWj7t/OrGrUdHdyDwhsRev47fW1ySOETJZbyg5MsdxabCauH4Q4E7MkJXfBg==";
const P521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAH1NB2yApLln2c8ZQUBPHJXz7RpyF/XdMtgd9hnjGZvmJ9YQmMXuiq0k5X5CJSbRO6cRKOJ2cLBBenChSrhp4rXcwF+HdCS+unKJb1EGLPIXtzhnWMlR0XPAffUCiWtgcavT5N0vJrnzixz6wiMicBNlw7+xR6UD1XgB5x8h+ZlcFWsew==";
const RSA2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDOV9zd7FuBZ83JkLtdnxF3+AmD9d382f+58nKy3SB3Onk6sWjpz6PR3b7eDxGn+sbYTgnjaRaX7IPdSi84gS70WwgiHPnppVVrldo8kQh/BtyKseSzxehAL41vWYHc66FWRJC2WD1k8gXx4CkBA2qGpStzsVFMvMWzhtHs7QEFQcgt6Vs0QYgqZuYpGT2SaniPK0ssK3i3t9PPGVfy4BHTHuJT/1Ll77NfBQs5hYEdj33CQRE7pVAw+CiquY40Ux+OcjvGltNMHVLBzQOnnNY1IdRtkq9NZFgWVtngH/mzA6pr2XS97nSOP3kfw0DuhBk8fwdDe91hGQH5J8kn8Wj/";
const RSA1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDP1l3iS5dutanjwBbTGCViit689U8prM5/SP9qWRFxeZmTD+xqxlGboCSLSCOrzqqUCFgoXV5rIqcI//ZnGIzWmLByVfnCfDUj5wkouchOSjnuMpTp+eCvHjcaGbaCdo29fK5KTyUDjWZw1XVg7HMTpEgFldZVleEz0eOjjJBs1w==";
const DSA: &str = "ssh-dss AAAAB3NzaC1kc3MAAACBAKe0cELYe6iSDFtFoVD06mgpZvzRwyvOkCHr7a3KUCX3TS9fKKbBHR5Sj6f/Y8UU3oaS9KN013SdH1/OnOEQBdvx9n6bzJtu/hoAMYwLlps5uvRgTDPngwficvQazxcez2iLdqLx5iD2r3r6LCALOOHtE3Ry8R7Nuyqqpn0zN3A9AAAAFQCK2MoC6okIiTCUJ5ol+TAwWXdzjQAAAIBdhpM8qEm1egLFNhyqli++DUYH/FLxPiZoLs9Pz4k0o6bUQCJlZzOFBwpEa9gXNoDr6HpRmuKU3tkN+PIFqmiEocsI7+YvCKEbgzDP8cAUU04IwusdRzgsg+VcZWR+ailYoPCnRpLiRkTEKVWsJYxvgh8M22bkUbEJZrgy65+FywAAAIA1esWHPCzcbtasPSZBHPplJfI0zDOdBq3NPtZft5TEVttbUTeYdman29gK+ZF7kfPeuzhn2he8DCt3kD7wpjRxc6n0NNReZrGFR9tiynuA23tBFc4s/596V+oOqlHxzi3CaGBdfuuI3V0x6JFimXYuWtIPRWVt/r+Z5qpIlvjJOw==";

fn file() -> PathBuf {
    PathBuf::from("allowed_signers")
}

fn parse(src: &str) -> Result<AllowedSigners, ConfigErrors> {
    AllowedSigners::parse_in(&file(), src, &TimeZone::UTC)
}

fn ok(src: &str) -> AllowedSigners {
    match parse(src) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// The errors of `src`, as `LINE: message`.
fn errs(src: &str) -> Vec<String> {
    parse(src)
        .unwrap_err()
        .0
        .iter()
        .map(|e| {
            assert_eq!(e.file, file());
            format!("{}: {}", e.line.unwrap(), e.message)
        })
        .collect()
}

/// The single error of a one-line file.
fn err1(line: &str) -> String {
    let e = errs(line);
    assert_eq!(e.len(), 1, "{e:?}");
    e[0].strip_prefix("1: ").unwrap().to_owned()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn parses_every_supported_key_type_comments_and_blank_lines() {
    let src = format!(
        "# approvers\n\n   \nalice@corp {ED25519} alice's laptop\n\t bob@corp\t{P256}\r\n\
         carol@corp {P384}\ndave@corp {P521} x y z\n  # indented comment\nerin@corp {RSA2048}"
    );
    let s = ok(&src);
    let lines: Vec<_> = s.entries().iter().map(SignerEntry::line).collect();
    assert_eq!(lines, [4, 5, 6, 7, 9]);
    let who: Vec<_> = s.entries().iter().map(SignerEntry::principals).collect();
    assert_eq!(
        who,
        [
            "alice@corp",
            "bob@corp",
            "carol@corp",
            "dave@corp",
            "erin@corp"
        ]
    );
    let e = &s.entries()[0];
    assert_eq!(e.key().to_openssh().unwrap(), ED25519);
    assert_eq!(
        e.fingerprint(),
        "SHA256:U4WlHcMNSDt/eKlEhZv/hQvJIeDDReRqpuguRtjkVeU"
    );
    assert_eq!(e.namespaces(), None);
    assert_eq!((e.valid_after(), e.valid_before()), (None, None));
    assert!(!s.is_empty());
    assert!(ok("# nothing\n\n").is_empty());
    assert!(ok("").is_empty());
}

#[test]
fn parses_options_and_quoted_principals() {
    let src = format!(
        "\"alice smith@corp,bob@corp\" {ED25519}\n\
         *@corp,!mallory@corp NAMESPACES=\"elevated-*,a b\",Valid-After=\"20250101\",valid-before=\"202512312359Z\" {P256} c\n\
         x namespaces=\"q\\\"uote\" {ED25519}\n"
    );
    let s = ok(&src);
    let [a, b, c] = s.entries() else {
        panic!("{:?}", s.entries())
    };
    assert_eq!(a.principals(), "alice smith@corp,bob@corp");
    assert!(a.matches_principal("alice smith@corp"));
    assert_eq!(b.principals(), "*@corp,!mallory@corp");
    assert!(b.matches_principal("bob@corp"));
    assert!(!b.matches_principal("mallory@corp"));
    assert_eq!(b.namespaces(), Some("elevated-*,a b"));
    assert_eq!(b.valid_after(), Some(ts("2025-01-01T00:00:00Z")));
    assert_eq!(b.valid_before(), Some(ts("2025-12-31T23:59:00Z")));
    assert_eq!(c.namespaces(), Some("q\"uote"));
}

#[test]
fn time_forms_and_zones() {
    let after = |v: &str, tz: &TimeZone| {
        let src = format!("a valid-after=\"{v}\" {ED25519}");
        AllowedSigners::parse_in(&file(), &src, tz)
            .unwrap()
            .entries()[0]
            .valid_after()
            .unwrap()
    };
    let utc = TimeZone::UTC;
    let paris = TimeZone::get("Europe/Paris").unwrap();
    assert_eq!(after("20250102", &utc), ts("2025-01-02T00:00:00Z"));
    assert_eq!(after("202501021304", &utc), ts("2025-01-02T13:04:00Z"));
    assert_eq!(after("20250102130405", &utc), ts("2025-01-02T13:04:05Z"));
    // Local time unless Z or UTC (any case).
    assert_eq!(after("20250102", &paris), ts("2025-01-01T23:00:00Z"));
    assert_eq!(after("20250702", &paris), ts("2025-07-01T22:00:00Z"));
    for z in ["Z", "z", "UTC", "utc"] {
        assert_eq!(
            after(&format!("20250102{z}"), &paris),
            ts("2025-01-02T00:00:00Z")
        );
    }
}

#[test]
fn each_error_kind_names_its_line() {
    let cases: &[(&str, &str)] = &[
        ("a cert-authority {K}", "option cert-authority (certificate signers) is not supported: list each approver's own public key instead"),
        ("a CERT-AUTHORITY,namespaces=\"x\" {K}", "option cert-authority (certificate signers) is not supported: list each approver's own public key instead"),
        ("a foo {K}", "unknown option \"foo\"; the options understood are namespaces=\"...\", valid-after=\"...\" and valid-before=\"...\""),
        ("a cert-authorityX {K}", "unknown option \"cert-authorityX\"; the options understood are namespaces=\"...\", valid-after=\"...\" and valid-before=\"...\""),
        ("a verify-required=\"x\" {K}", "unknown option \"verify-required\"; the options understood are namespaces=\"...\", valid-after=\"...\" and valid-before=\"...\""),
        ("a namespaces=file {K}", "the value of option namespaces must be in double quotes: namespaces=\"...\""),
        ("a namespaces {K}", "option namespaces needs a value: namespaces=\"...\""),
        ("a namespaces=\"x {K}", "an option value has no closing quote"),
        ("a namespaces=\"x\", {K}", "the options end with a comma: remove it"),
        ("a namespaces=\"x\"y {K}", "unexpected \"y\" after an option value; separate options with commas"),
        ("a namespaces=\"x\",namespaces=\"y\" {K}", "option namespaces is given twice"),
        ("a valid-after=\"20250101\",VALID-AFTER=\"20250102\" {K}", "option valid-after is given twice"),
        ("a namespaces=\"\" {K}", "namespaces \"\" has no positive pattern, so it matches nothing; negated patterns (!x) only take away from positive ones such as *@example.com"),
        ("a valid-after=\"2025010\" {K}", "invalid valid-after time \"2025010\": expected YYYYMMDD or YYYYMMDDHHMM[SS], followed by Z for UTC (local time otherwise)"),
        ("a valid-before=\"2025010112\" {K}", "invalid valid-before time \"2025010112\": expected YYYYMMDD or YYYYMMDDHHMM[SS], followed by Z for UTC (local time otherwise)"),
        ("a valid-before=\"2025-1-01\" {K}", "invalid valid-before time \"2025-1-01\": expected YYYYMMDD or YYYYMMDDHHMM[SS], followed by Z for UTC (local time otherwise)"),
        ("a valid-before=\"20250230\" {K}", "invalid valid-before time \"20250230\": expected YYYYMMDD or YYYYMMDDHHMM[SS], followed by Z for UTC (local time otherwise)"),
        ("a valid-before=\"202501012400\" {K}", "invalid valid-before time \"202501012400\": expected YYYYMMDD or YYYYMMDDHHMM[SS], followed by Z for UTC (local time otherwise)"),
        ("a valid-before=\"Z\" {K}", "invalid valid-before time \"Z\": expected YYYYMMDD or YYYYMMDDHHMM[SS], followed by Z for UTC (local time otherwise)"),
        ("a valid-after=\"19700101Z\" {K}", "invalid valid-after time \"19700101Z\": it must be after 1970-01-01"),
        ("a valid-after=\"20250102\",valid-before=\"20250101\" {K}", "valid-before (2025-01-01T00:00:00Z) is not later than valid-after (2025-01-02T00:00:00Z)"),
        ("a valid-after=\"20250101\",valid-before=\"20250101\" {K}", "valid-before (2025-01-01T00:00:00Z) is not later than valid-after (2025-01-01T00:00:00Z)"),
        ("!a {K}", "principals \"!a\" has no positive pattern, so it matches nothing; negated patterns (!x) only take away from positive ones such as *@example.com"),
        ("a\"b {K}", "a quote inside the principals \"a\\\"b\": quote the whole field or none of it"),
        ("\"a b {K}", "the quoted principals have no closing quote"),
        ("\"a\"b {K}", "a blank must follow the closing quote of the principals"),
        ("alice@corp", "no key after the principals; expected: principals [options] keytype base64-key [comment]"),
        ("a namespaces=\"x\"", "no key after the options; expected: principals [options] keytype base64-key [comment]"),
        ("a ssh-ed25519", "no base64 key after ssh-ed25519; expected: principals [options] keytype base64-key [comment]"),
        ("a ssh-ed2559 AAAA", "unknown key type \"ssh-ed2559\"; supported: ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com"),
        ("a namespaces=\"x\" ed25519 AAAA", "unknown key type \"ed25519\"; supported: ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com"),
        ("a ssh-ed25519-cert-v01@openssh.com AAAA", "certificates are not supported: list the approver's plain public key (the .pub file, not the -cert.pub one)"),
        ("a ssh-dss AAAA", "DSA keys (ssh-dss) are not supported: use an ed25519 key"),
        ("a ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDt653NEkE5+TJZJWSSY4DYhgFZO6m1glxON", "the base64 key after ssh-ed25519 is not a valid ssh-ed25519 public key (damaged, cut short, or of another type); copy it again from the approver's .pub file"),
        ("a ssh-ed25519 !!!!", "the base64 key after ssh-ed25519 is not a valid ssh-ed25519 public key (damaged, cut short, or of another type); copy it again from the approver's .pub file"),
        ("a ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIDt653NEkE5+TJZJWSSY4DYhgFZO6m1glxONJ5d1uQfw", "the base64 key after ssh-rsa is not a valid ssh-rsa public key (damaged, cut short, or of another type); copy it again from the approver's .pub file"),
    ];
    for (line, want) in cases {
        let line = line.replace("{K}", ED25519);
        assert_eq!(err1(&line), *want, "line: {line}");
    }
    let rsa = format!("a {RSA1024}");
    assert_eq!(
        err1(&rsa),
        "RSA key of 1024 bits: only 2048 to 4096 bits are supported; use an ed25519 key or a 3072-bit RSA key"
    );
    let dsa = format!("a {DSA}");
    assert_eq!(
        err1(&dsa),
        "DSA keys (ssh-dss) are not supported: use an ed25519 key"
    );
}

#[test]
fn every_bad_line_is_reported_in_order() {
    let src = format!("ok {ED25519}\nbad foo {ED25519}\n# fine\n\nworse ssh-ed25519\nok2 {P256}\n");
    let e = errs(&src);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].starts_with("2: unknown option \"foo\""), "{e:?}");
    assert!(
        e[1].starts_with("5: no base64 key after ssh-ed25519"),
        "{e:?}"
    );
    let whole = parse(&src).unwrap_err().to_string();
    assert!(
        whole.starts_with("allowed_signers:2: unknown option"),
        "{whole}"
    );
}

#[test]
fn refusal_checks_namespace_and_inclusive_window() {
    let src = format!(
        "a namespaces=\"elevated-*\",valid-after=\"20250101Z\",valid-before=\"20250201Z\" {ED25519}"
    );
    let s = ok(&src);
    let e = &s.entries()[0];
    let jan = ts("2025-01-15T00:00:00Z");
    assert_eq!(e.refusal("elevated-approval", jan), None);
    assert_eq!(
        e.refusal("git", jan).unwrap(),
        "line 1: namespaces=\"elevated-*\" does not allow namespace \"git\""
    );
    assert_eq!(
        e.refusal("elevated-approval", ts("2025-01-01T00:00:00Z")),
        None
    );
    assert_eq!(
        e.refusal("elevated-approval", ts("2025-02-01T00:00:00Z")),
        None
    );
    // Whole seconds, as OpenSSH compares them.
    assert_eq!(
        e.refusal("elevated-approval", ts("2025-02-01T00:00:00.9Z")),
        None
    );
    assert_eq!(
        e.refusal("elevated-approval", ts("2024-12-31T23:59:59Z"))
            .unwrap(),
        "line 1: not valid before valid-after 2025-01-01T00:00:00Z"
    );
    assert_eq!(
        e.refusal("elevated-approval", ts("2025-02-01T00:00:01Z"))
            .unwrap(),
        "line 1: expired at valid-before 2025-02-01T00:00:00Z"
    );
}

#[test]
fn load_missing_trusted_and_untrusted_files() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("allowed_signers");
    assert!(AllowedSigners::load(&p).unwrap().is_empty());
    std::fs::write(&p, format!("alice@corp {ED25519}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = AllowedSigners::load_in(&p, &TimeZone::UTC).unwrap();
    assert_eq!(s.entries().len(), 1);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = AllowedSigners::load(&p).unwrap_err();
    assert!(e.to_string().contains("writable by group or others"), "{e}");
    let bad = d.path().join("bad");
    std::fs::write(&bad, "a b c\nx ssh-ed25519 AAAA\n").unwrap();
    let e = AllowedSigners::load(&bad).unwrap_err();
    assert_eq!(e.0.len(), 2, "{e}");
    assert_eq!(e.0[1].file, bad);
    assert_eq!(e.0[1].line, Some(2));
    let link = d.path().join("link");
    std::os::unix::fs::symlink(d.path().join("gone"), &link).unwrap();
    let e = AllowedSigners::load(&link).unwrap_err();
    assert!(e.to_string().contains("is a symbolic link"), "{e}");
}
