//! The fast path of [`decide`] (the index of rules by user and group, and
//! the clock shared by a decision's rules) against a plain scan checking
//! every rule of the role on its own: random policies, subjects, hosts and
//! times must get exactly the same decision either way.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use elevated_proto::{GroupName, RoleName, UserName};

use super::super::eval::{check_rule, decide, decide_naive};
use super::super::model::*;
use super::super::Policy;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// 0..n.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    /// True with probability 1/n.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    /// 0..=max picks from `from`, possibly repeated.
    fn some(&mut self, from: &[&str], max: usize) -> Vec<String> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.pick(from).to_owned()).collect()
    }
}

const USERS: &[&str] = &["ann", "bob", "cy", "dee"];
const GROUPS: &[&str] = &["dba", "ops", "wheel", "dev", "sec"];
const ROLES: &[&str] = &["r0", "r1", "r2", "gone"];
const DEPTS: &[&str] = &["pay", "hr", "it"];
const ENVS: &[&str] = &["prod", "stage"];
const HOSTS: &[&str] = &["db1", "db2", "web1"];
const GLOBS: &[&str] = &["db*", "web?", "*", "db1", "x*"];
/// More zones than a decision's clock remembers.
const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Europe/London",
    "Pacific/Auckland",
    "America/Sao_Paulo",
];

fn map(rng: &mut Rng, key: &str, from: &[&str]) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(key.to_owned(), rng.some(from, 2))])
}

fn who(rng: &mut Rng) -> Option<Who> {
    if rng.one_in(5) {
        return None;
    }
    // Lists may be empty or repeat names: the loader refuses empty lists,
    // but a policy built in code may have them, and they match nobody.
    let users = (!rng.one_in(2)).then(|| {
        rng.some(USERS, 2)
            .iter()
            .map(|u| UserName::parse(u).unwrap())
            .collect()
    });
    let groups = (!rng.one_in(2)).then(|| {
        rng.some(GROUPS, 3)
            .iter()
            .map(|g| GroupName::parse(g).unwrap())
            .collect()
    });
    let attributes = rng.one_in(3).then(|| map(rng, "dept", DEPTS));
    Some(Who {
        users,
        groups,
        attributes,
    })
}

fn when(rng: &mut Rng) -> Option<When> {
    if rng.one_in(2) {
        return None;
    }
    let hours = rng.one_in(2).then(|| {
        (0..=rng.below(2))
            .map(|_| HourRange {
                start: u16::try_from(rng.below(24 * 4) * 15).unwrap(),
                end: u16::try_from(rng.below(24 * 4) * 15 + 15).unwrap(),
            })
            .collect()
    });
    Some(When {
        days: (!rng.one_in(3)).then(|| u8::try_from(rng.below(128)).unwrap()),
        hours,
        tz: jiff::tz::TimeZone::get(rng.pick(ZONES)).unwrap(),
    })
}

fn rule(rng: &mut Rng, n: usize) -> Rule {
    Rule {
        index_in_file: n + 1,
        source: SourceRef {
            file: format!("{}-p.toml", 10 + n / 8),
            line: u32::try_from(n * 7 + 1).unwrap(),
        },
        role: RoleName::parse(rng.pick(ROLES)).unwrap(),
        effect: if rng.one_in(4) {
            Effect::Deny
        } else {
            Effect::Allow
        },
        who: who(rng),
        r#where: rng.one_in(2).then(|| Where {
            hosts: rng.one_in(2).then(|| rng.some(GLOBS, 2)),
            tags: rng.one_in(2).then(|| map(rng, "env", ENVS)),
        }),
        when: when(rng),
        context: rng
            .one_in(6)
            .then(|| map(rng, "session", &["remote", "local"])),
        approval: Approval {
            count: u32::try_from(rng.below(3)).unwrap(),
            reason: rng.one_in(2),
            ..Approval::default()
        },
    }
}

fn role(rng: &mut Rng, name: &str) -> Role {
    Role {
        name: RoleName::parse(name).unwrap(),
        description: String::new(),
        sudo: None,
        groups: vec![],
        allow_privileged_groups: false,
        on_expiry: OnExpiry::Warn,
        terminate_grace: Duration::from_secs(5),
        login: false,
        default_duration: Duration::from_secs(60 * (1 + rng.below(120)) as u64),
        max_duration: Duration::from_secs(60 * (1 + rng.below(120)) as u64),
        actions: vec![],
        action_duration: Duration::from_secs(300),
        reauth: false,
        source: SourceRef {
            file: "00-roles.toml".into(),
            line: 1,
        },
    }
}

fn policy(rng: &mut Rng) -> Policy {
    let mut p = Policy::default();
    // "gone" has rules but no definition.
    for name in &ROLES[..3] {
        p.roles
            .insert(RoleName::parse(name).unwrap(), role(rng, name));
    }
    for n in 0..rng.below(40) {
        p.push_rule(rule(rng, n));
    }
    p
}

fn subject(rng: &mut Rng) -> Subject {
    let user = rng.pick(&["ann", "bob", "cy", "dee", "eve"]).to_owned();
    let mut groups: BTreeSet<String> = rng.some(GROUPS, 4).into_iter().collect();
    groups.insert(user.clone());
    let attributes = if rng.one_in(3) {
        BTreeMap::new()
    } else {
        map(rng, "dept", DEPTS)
    };
    let context = if rng.one_in(2) {
        BTreeMap::new()
    } else {
        map(rng, "session", &["remote", "local"])
    };
    Subject {
        uid: 1000,
        user,
        groups,
        attributes,
        context,
    }
}

fn host(rng: &mut Rng) -> HostFacts {
    HostFacts {
        name: rng.pick(HOSTS).to_owned(),
        tags: if rng.one_in(4) {
            BTreeMap::new()
        } else {
            map(rng, "env", ENVS)
        },
        max_duration: Duration::from_secs(60 * (1 + rng.below(240)) as u64),
    }
}

#[test]
fn the_fast_path_decides_exactly_as_a_scan_of_every_rule() {
    assert!(ZONES.len() > super::super::clock::REMEMBERED);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut cases, mut allowed, mut by_deny_rule, mut skipped) = (0, 0, 0, 0);
    for _ in 0..3000 {
        let p = policy(&mut rng);
        for _ in 0..8 {
            let s = subject(&mut rng);
            let h = host(&mut rng);
            // Any minute of 2024 (so across daylight saving changes).
            let secs = 1_704_067_200 + i64::try_from(rng.below(366 * 24 * 60)).unwrap() * 60;
            let now = jiff::Timestamp::from_second(secs).unwrap();
            let requested = match rng.below(4) {
                0 => None,
                1 => Some(Duration::from_millis(rng.below(2000) as u64)),
                _ => Some(Duration::from_secs(60 * rng.below(300) as u64)),
            };
            let r = RoleName::parse(rng.pick(ROLES)).unwrap();

            let all: Vec<usize> = p.rules_for(&r).map(|(i, _)| i).collect();
            let cand: Vec<usize> = p.candidates_for(&r, &s).map(|(i, _)| i).collect();
            assert!(cand.windows(2).all(|w| w[0] < w[1]), "{cand:?}");
            assert!(cand.iter().all(|i| all.contains(i)), "{cand:?} {all:?}");
            for &i in &all {
                let rule = &p.rules()[i];
                if check_rule(rule, &s, &h, now).is_ok() {
                    assert!(cand.contains(&i), "matching rule {i} skipped: {rule:?}");
                }
            }
            skipped += all.len() - cand.len();

            let got = decide(&p, &s, &h, &r, requested, now);
            let want = decide_naive(&p, &s, &h, &r, requested, now);
            assert_eq!(got, want, "{s:?} {r} {requested:?} {now}\n{p:?}");
            assert_eq!(got.message(), want.message());
            cases += 1;
            if got.is_allowed() {
                allowed += 1;
            } else if got.rule().is_some() {
                by_deny_rule += 1;
            }
        }
    }
    // The generator must reach every outcome often, and the index must
    // actually leave rules out, or the comparison proves little.
    assert!(allowed * 20 > cases, "{allowed} of {cases} allowed");
    assert!(
        by_deny_rule * 50 > cases,
        "{by_deny_rule} of {cases} denied by a rule"
    );
    assert!(skipped > cases, "{skipped} rules skipped in {cases} cases");
}
