//! Policy evaluation alone: decisions per second with 10, 100 and 1,000
//! rules (`cargo bench -p elevated --bench policy`; `scripts/bench` runs it
//! and copies the numbers into BENCHMARKS.md).
//!
//! Two shapes of policy, each rule with `who`, `where` and `when`:
//! - `spread`: the rules spread over roles, ten per role (how real policy
//!   looks: a few rules per role); the requested role's allow rule is the
//!   last of its ten.
//! - `one_role`: every rule is about the requested role and only the last
//!   one matches; the others name other users and groups, so the index of
//!   rules by `who` leaves them out.
//! - `one_role_named`: as `one_role`, but every rule names the subject's
//!   group and host tag and misses only on `when`, the last and dearest
//!   selector: the index cannot leave any out and every check runs to the
//!   end (the worst case).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use elevated::config::policy_file::parse_policy_files;
use elevated::policy::{decide, HostFacts, Policy, Subject};
use elevated_proto::RoleName;

/// A rule that does not match `alice` (other users, other groups), and
/// one more selector each on host and time so every check runs.
fn miss(out: &mut String, role: &str, i: usize, effect: &str) {
    let _ = write!(
        out,
        "[[rules]]\nrole = \"{role}\"\neffect = \"{effect}\"\n\
         who = {{ users = [\"user{i}\", \"other{i}\"], groups = [\"team{i}\"] }}\n\
         where = {{ tags = {{ env = [\"production\", \"staging\"] }} }}\n\
         when = {{ days = [\"mon-sun\"], hours = \"00:00-23:59\", tz = \"UTC\" }}\n\n"
    );
}

/// A rule that `alice` passes on `who` and `where` (so no index can leave
/// it out) and misses on `when` only: the bench runs on a Wednesday.
fn named_miss(out: &mut String, role: &str, effect: &str) {
    let _ = write!(
        out,
        "[[rules]]\nrole = \"{role}\"\neffect = \"{effect}\"\n\
         who = {{ groups = [\"dba\"] }}\n\
         where = {{ tags = {{ env = [\"production\", \"staging\"] }} }}\n\
         when = {{ days = [\"sat-sun\"], hours = \"08:00-18:00\", tz = \"Europe/Berlin\" }}\n\n"
    );
}

fn policy_text(rules: usize, per_role: usize, named: bool) -> String {
    let roles = rules.div_ceil(per_role);
    let mut out = String::new();
    for r in 0..roles {
        let _ = write!(
            out,
            "[roles.role{r}]\nsudo = {{ commands = [\"/usr/bin/true\"] }}\n\
             default_duration = \"30m\"\nmax_duration = \"2h\"\n\n"
        );
    }
    for i in 0..rules {
        let role = format!("role{}", i / per_role);
        let last_of_role = (i + 1) % per_role == 0 || i + 1 == rules;
        if last_of_role {
            let _ = write!(
                out,
                "[[rules]]\nrole = \"{role}\"\n\
                 who = {{ groups = [\"dba\"], attributes = {{ department = [\"payments\"] }} }}\n\
                 where = {{ tags = {{ env = [\"production\"] }} }}\n\
                 when = {{ days = [\"mon-fri\"], hours = \"08:00-18:00\", tz = \"Europe/Berlin\" }}\n\
                 approval = {{ count = 0 }}\n\n"
            );
        } else {
            // One in ten of the others is a deny rule: deny rules are
            // always checked, even after an allow matched.
            let effect = if i % 10 == 5 { "deny" } else { "allow" };
            if named {
                named_miss(&mut out, &role, effect);
            } else {
                miss(&mut out, &role, i, effect);
            }
        }
    }
    out
}

fn load(text: String) -> Policy {
    match parse_policy_files(&[(PathBuf::from("10-bench.toml"), text)]) {
        Ok(p) => p,
        Err(e) => panic!("bench policy does not load:\n{e}"),
    }
}

fn alice() -> Subject {
    Subject {
        user: "alice".into(),
        uid: 1001,
        groups: ["alice", "dba", "wheel"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>(),
        attributes: BTreeMap::from([("department".to_owned(), vec!["payments".to_owned()])]),
        context: BTreeMap::new(),
    }
}

fn host() -> HostFacts {
    HostFacts {
        name: "db1".into(),
        tags: BTreeMap::from([("env".to_owned(), vec!["production".to_owned()])]),
        max_duration: Duration::from_secs(8 * 3600),
    }
}

fn bench(c: &mut Criterion) {
    let subject = alice();
    let host = host();
    // Wednesday 10:00 UTC: inside the allow rule's window.
    let now: jiff::Timestamp = "2024-06-05T10:00:00Z".parse().unwrap();
    let mut group = c.benchmark_group("policy_decide");
    group.throughput(Throughput::Elements(1));
    let shapes = [
        ("spread", 10usize, false),
        ("one_role", usize::MAX, false),
        ("one_role_named", usize::MAX, true),
    ];
    for &(shape, per_role, named) in &shapes {
        for &n in &[10usize, 100, 1000] {
            let policy = load(policy_text(n, per_role.min(n), named));
            assert_eq!(policy.rules().len(), n);
            // The role whose allow rule is last: the last role.
            let last = policy.rules().last().unwrap().role.clone();
            let role = RoleName::parse(last.as_str()).unwrap();
            let d = decide(&policy, &subject, &host, &role, None, now);
            assert!(d.is_allowed(), "{shape}/{n}: {}", d.message());
            group.bench_with_input(BenchmarkId::new(shape, n), &policy, |b, p| {
                b.iter(|| {
                    let d = decide(
                        p,
                        &subject,
                        &host,
                        &role,
                        Some(Duration::from_secs(600)),
                        now,
                    );
                    std::hint::black_box(d)
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
