//! Test helpers: keys and signatures made by the real `ssh-keygen`, and its
//! own verdict to compare with.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::signers::AllowedSigners;
use super::sshsig::{verify, SigError, Verified, APPROVAL_NAMESPACE};

/// The approval text signed in most tests (the start of one, in the
/// format `elevate show ID --approval-text` prints).
pub const TEXT: &[u8] =
    b"elevated decision v2\ndecision: approve\nrequest: k3f9x2ma\nround: 0\nhost: db1\n";

/// A fixed "now" for the tests, far from any real clock.
pub fn now() -> Timestamp {
    "2030-06-15T12:00:00Z".parse().unwrap()
}

/// `now()` as `ssh-keygen -O verify-time=` takes it.
pub const NOW_FOR_SSH_KEYGEN: &str = "20300615120000Z";

/// Runs `ssh-keygen` with `args` in `dir`.
pub fn ssh_keygen(dir: &Path, args: &[&str], stdin: Option<&Path>) -> Output {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    if let Some(path) = stdin {
        cmd.stdin(fs::File::open(path).unwrap());
    }
    match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run ssh-keygen ({e}): install the openssh-client package"),
    }
}

/// A temporary directory of keys and signatures.
pub struct Lab {
    dir: tempfile::TempDir,
    n: std::cell::Cell<u32>,
}

impl Lab {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            n: std::cell::Cell::new(0),
        }
    }

    fn fresh(&self, what: &str) -> PathBuf {
        self.n.set(self.n.get() + 1);
        self.dir.path().join(format!("{what}{}", self.n.get()))
    }

    /// Makes a key pair (`kind` as `ssh-keygen -t`, e.g. `ed25519` or
    /// `ecdsa -b 384`); returns the private key's path.
    pub fn key(&self, kind: &str) -> PathBuf {
        let path = self.fresh("key");
        let mut args = vec!["-q", "-N", "", "-C", "test key", "-t"];
        args.extend(kind.split(' '));
        let p = path.to_str().unwrap();
        args.extend(["-f", p]);
        let out = ssh_keygen(self.dir.path(), &args, None);
        assert!(out.status.success(), "{out:?}");
        path
    }

    /// The public key line of `key`, without its comment.
    pub fn public(&self, key: &Path) -> String {
        let text = fs::read_to_string(key.with_extension("pub")).unwrap();
        text.split(' ').take(2).collect::<Vec<_>>().join(" ")
    }

    /// The fingerprint `ssh-keygen -l` prints for `key`.
    pub fn fingerprint(&self, key: &Path) -> String {
        let pubkey = key.with_extension("pub");
        let out = ssh_keygen(
            self.dir.path(),
            &["-l", "-f", pubkey.to_str().unwrap()],
            None,
        );
        let text = String::from_utf8(out.stdout).unwrap();
        text.split(' ').nth(1).unwrap().to_owned()
    }

    /// `ssh-keygen -Y sign -f key -n namespace [extra]` over `msg`.
    pub fn sign_with(&self, key: &Path, namespace: &str, msg: &[u8], extra: &[&str]) -> String {
        let file = self.fresh("msg");
        fs::write(&file, msg).unwrap();
        let mut args = vec!["-Y", "sign", "-f", key.to_str().unwrap(), "-n", namespace];
        args.extend(extra);
        args.push(file.to_str().unwrap());
        let out = ssh_keygen(self.dir.path(), &args, None);
        assert!(out.status.success(), "{out:?}");
        fs::read_to_string(file.with_extension("sig")).unwrap()
    }

    /// An approval signature over `msg`.
    pub fn sign(&self, key: &Path, msg: &[u8]) -> String {
        self.sign_with(key, APPROVAL_NAMESPACE, msg, &[])
    }

    /// Whether `ssh-keygen -Y verify` accepts `sig` over `msg` from
    /// `principal`, at [`now()`], against the allowed-signers text
    /// `allowed`.
    pub fn openssh_accepts(&self, allowed: &str, principal: &str, sig: &str, msg: &[u8]) -> bool {
        let (signers, sig_file, msg_file) =
            (self.fresh("signers"), self.fresh("sig"), self.fresh("msg"));
        fs::write(&signers, allowed).unwrap();
        fs::write(&sig_file, sig).unwrap();
        fs::write(&msg_file, msg).unwrap();
        let time = format!("verify-time={NOW_FOR_SSH_KEYGEN}");
        let args = [
            "-Y",
            "verify",
            "-f",
            signers.to_str().unwrap(),
            "-I",
            principal,
            "-n",
            APPROVAL_NAMESPACE,
            "-s",
            sig_file.to_str().unwrap(),
            "-O",
            &time,
        ];
        ssh_keygen(self.dir.path(), &args, Some(&msg_file))
            .status
            .success()
    }
}

/// Parses `allowed` (times without `Z` in UTC) and verifies `sig` over
/// `msg` for approval at [`now()`].
pub fn check(allowed: &str, sig: &str, msg: &[u8]) -> Result<Verified, SigError> {
    let signers =
        AllowedSigners::parse_in(Path::new("allowed_signers"), allowed, &TimeZone::UTC).unwrap();
    verify(&signers, APPROVAL_NAMESPACE, msg, sig, now())
}
