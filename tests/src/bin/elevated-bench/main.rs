//! The benchmark driver behind `scripts/bench`: the release binaries of
//! `elevated`, `elevate` and `pam_elevate.so` against the real `sudo`,
//! `pamtester` and the kernel, each figure beside a baseline measured in the
//! same run. Prints a markdown report (BENCHMARKS.md explains each part).
//!
//! `elevated-bench [--quick] [SECTION...]`; sections: machine, run, request,
//! status, policy, pam, scale, stall (default: all). Needs root: it creates `elvt` users
//! and a sudoers include, removed at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod cases;
mod load;
mod machine;
mod policy;
mod scale;
mod stall;
mod stats;

use std::process::Command;

use elevated_tests::{require_root, Daemon, TestGroup, TestUser};

/// How many samples each section takes.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub iterations: usize,
    pub load_secs: u64,
    pub grants: usize,
    pub audit_rows: u64,
}

/// A user allowed the benchmark roles, and a daemon whose drop-ins the
/// real sudo reads.
pub struct Bed {
    pub daemon: Daemon,
    pub user: TestUser,
    pub gid: u32,
    _group: TestGroup,
}

pub fn gid_of(user: &str) -> u32 {
    let out = Command::new("id").args(["-g", user]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

impl Bed {
    fn new() -> Self {
        let group = TestGroup::new("bench");
        let user = TestUser::new("b", &[&group]);
        let gid = gid_of(&user.name);
        // The 256-client status load runs as one user: above the default
        // share of one user (32). Login gated so the PAM check does its
        // whole work (ask the daemon, find the grant).
        let mut daemon = Daemon::new(
            "[limits]\nmax_connections_per_user = 512\nrequests_per_minute = 1000000\n\n[login]\nrequire_grant = true\n",
        )
        .with_real_sudo();
        daemon.policy(
            "10-bench.toml",
            &format!(
                "[roles.bench]\nsudo = {{ commands = [\"/usr/bin/true\"], nopasswd = true }}\n\
                 default_duration = \"1h\"\nmax_duration = \"8h\"\n\n\
                 [roles.bench-login]\nlogin = true\ndefault_duration = \"1h\"\n\n\
                 [[rules]]\nrole = \"bench\"\nwho = {{ groups = [\"{g}\"] }}\n\n\
                 [[rules]]\nrole = \"bench-login\"\nwho = {{ groups = [\"{g}\"] }}\n",
                g = group.name
            ),
        );
        daemon.start();
        Self {
            daemon,
            user,
            gid,
            _group: group,
        }
    }

    /// A command run directly as the bench user (uid, gid, no
    /// supplementary groups, minimal environment): no wrapper program
    /// whose own cost would hide the difference being measured.
    pub fn as_user(&self, program: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new(program);
        c.uid(self.user.uid)
            .gid(self.gid)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("USER", &self.user.name)
            .env("HOME", "/")
            .env("ELEVATE_SOCKET", &self.daemon.socket)
            .current_dir("/");
        c
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--load") {
        load::child(&args[1..]);
        return;
    }
    require_root();
    let quick = args.iter().any(|a| a == "--quick");
    let size = if quick {
        Size {
            iterations: 40,
            load_secs: 1,
            grants: 300,
            audit_rows: 5_000,
        }
    } else {
        Size {
            iterations: 400,
            load_secs: 5,
            grants: 10_000,
            audit_rows: 100_000,
        }
    };
    let mut sections: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if sections.is_empty() {
        sections = vec![
            "machine", "run", "request", "status", "policy", "pam", "scale", "stall",
        ];
    }
    println!("# elevated benchmark report\n");
    if quick {
        println!("(quick run: too few samples to publish)\n");
    }
    let needs_bed = sections
        .iter()
        .any(|s| matches!(*s, "run" | "request" | "status" | "pam" | "stall"));
    let bed = needs_bed.then(Bed::new);
    for s in sections {
        match s {
            "machine" => machine::report(),
            "run" => cases::run_vs_sudo(bed.as_ref().unwrap(), size),
            "request" => cases::request_to_rule(bed.as_ref().unwrap(), size),
            "status" => load::status(bed.as_ref().unwrap(), size),
            "policy" => policy::report(),
            "pam" => cases::pam(bed.as_ref().unwrap(), size),
            "stall" => stall::run(bed.as_ref().unwrap(), size),
            "scale" => scale::run(size),
            other => panic!("unknown section {other}"),
        }
    }
}
