//! FIDO (`sk-`) signatures against the real daemon: a signature made
//! without touching the authenticator is refused, and a rule with
//! `approval.verify_required` takes only signatures whose authenticator
//! verified the user. No authenticator is plugged into a test host, so the
//! signatures are made here byte for byte as one would make them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use elevated_testkit::output::json;
use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};
use ssh_key::private::Ed25519Keypair;
use ssh_key::public::{KeyData, SkEd25519};
use ssh_key::sha2::{Digest, Sha256};
use ssh_key::{
    Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, Signature, SigningKey, SshSig,
};

const UP: u8 = 0x01;
const UV: u8 = 0x04;

fn sk_key(seed: u8) -> (Ed25519Keypair, KeyData) {
    let pair = Ed25519Keypair::from_seed(&[seed; 32]);
    let key = KeyData::SkEd25519(SkEd25519::new(pair.public, "ssh:"));
    (pair, key)
}

fn raw_sign<K: SigningKey>(key: &K, data: &[u8]) -> Signature {
    key.try_sign(data).unwrap()
}

/// What `ssh-keygen -Y sign -n elevated-approval` writes for an sk key
/// whose authenticator answered with `flags`.
fn sk_sign(pair: &Ed25519Keypair, key: &KeyData, flags: u8, msg: &[u8]) -> String {
    let counter = 1_u32.to_be_bytes();
    let signed = SshSig::signed_data("elevated-approval", HashAlg::Sha512, msg).unwrap();
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
    SshSig::new(key.clone(), "elevated-approval", HashAlg::Sha512, sig)
        .unwrap()
        .to_pem(LineEnding::LF)
        .unwrap()
}

fn submit(d: &Daemon, by: &TestUser, id: &str, sig: &str, name: &str) -> Output {
    let file = d.dir.path().join(name);
    std::fs::write(&file, sig).unwrap();
    d.elevate(
        Some(by),
        &["approve", id, "--signature", file.to_str().unwrap()],
    )
}

#[test]
fn fido_signatures_need_presence_and_verification_when_the_rule_says_so() {
    require_root();
    let alice = TestUser::new("a", &[]);
    let mut d = Daemon::new("");
    let (pair, key) = sk_key(9);
    let keys = d.dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let plain = keys.join("plain");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let plain_pub = std::fs::read_to_string(plain.with_extension("pub")).unwrap();
    d.file(
        "allowed_signers",
        &format!(
            "fido@corp {}\nplain@corp {plain_pub}",
            PublicKey::from(key.clone()).to_openssh().unwrap()
        ),
        0o644,
    );
    let signers = d.dir.path().join("allowed_signers");
    let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        &format!("[daemon]\nallowed_signers = \"{}\"\n", signers.display()),
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
    d.policy(
        "10-f.toml",
        &format!(
            "[roles.touch]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [roles.pin]\nsudo = {{ commands = [\"/usr/bin/id\"] }}\n\n\
             [[rules]]\nrole = \"touch\"\nwho = {{ users = [\"{a}\"] }}\n\
             approval = {{ count = 1, approvers = {{ principals = [\"fido@corp\"] }} }}\n\n\
             [[rules]]\nrole = \"pin\"\nwho = {{ users = [\"{a}\"] }}\n\
             approval = {{ count = 1, approvers = {{ principals = [\"fido@corp\", \"plain@corp\"] }}, \
             verify_required = true }}\n",
            a = alice.name
        ),
    );
    d.start();
    let request = |role: &str| {
        let out = d.elevate(Some(&alice), &["--json", "request", role, "--no-wait"]);
        assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
        json(&out)["id"].as_str().unwrap().to_owned()
    };
    let approval_text = |id: &str| d.elevate(None, &["show", id, "--approval-text"]).stdout;
    let state = |id: &str| json(&d.elevate(None, &["--json", "show", id]))["state"].clone();

    // The requester carries the signatures back (someone who cannot see
    // the request would only learn that it is not visible to them).
    // Not touched: refused, whatever else the flags say.
    let id = request("touch");
    for (n, flags) in [0, UV].into_iter().enumerate() {
        let sig = sk_sign(&pair, &key, flags, &approval_text(&id));
        let out = submit(&d, &alice, &id, &sig, &format!("t{n}.sig"));
        let (o, e) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{o}{e}");
        assert!(e.contains("without user presence"), "{o}{e}");
        assert_eq!(state(&id), "pending");
    }
    let sig = sk_sign(&pair, &key, UP, &approval_text(&id));
    let out = submit(&d, &alice, &id, &sig, "t.sig");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&id), "active");

    // verify_required: a touch alone, or an ordinary key, is not enough.
    let id = request("pin");
    let sig = sk_sign(&pair, &key, UP, &approval_text(&id));
    let out = submit(&d, &alice, &id, &sig, "p0.sig");
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    assert!(e.contains("verify_required"), "{o}{e}");
    let text_file = d.dir.path().join("pin.txt");
    std::fs::write(&text_file, approval_text(&id)).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "elevated-approval", "-f"])
        .arg(&plain)
        .arg(&text_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let plain_sig =
        std::fs::read_to_string(Path::new(&format!("{}.sig", text_file.display()))).unwrap();
    let out = submit(&d, &alice, &id, &plain_sig, "p1.sig");
    let (o, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{o}{e}");
    assert!(e.contains("verify_required"), "{o}{e}");
    assert_eq!(state(&id), "pending");
    let sig = sk_sign(&pair, &key, UP | UV, &approval_text(&id));
    let out = submit(&d, &alice, &id, &sig, "p2.sig");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(state(&id), "active");
}
