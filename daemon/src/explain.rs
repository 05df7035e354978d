//! `elevated explain`: what policy decides for a user and role at a time,
//! without touching the host.
//!
//! Exit status: 0 allowed, 1 denied, 2 the question could not be answered
//! (a bad option, an unknown user, a configuration that does not load), so
//! a script never takes a broken setup for a refusal.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use elevated_proto::RoleName;
use jiff::Timestamp;

use crate::config::Loaded;
use crate::policy::{decide, Decision, Subject, CONTEXT_FACTS};
use crate::sys::users;
use crate::times::{parse_duration, rfc3339_of};

/// Exit status: the policy allows it.
const ALLOWED: u8 = 0;
/// Exit status: the policy denies it.
const DENIED: u8 = 1;
/// Exit status: the question could not be answered.
const UNANSWERED: u8 = 2;

/// What `explain` is asked, as typed.
pub struct Query {
    pub user: String,
    pub role: String,
    /// `--at`: a time, or a duration meaning that long ago.
    pub at: Option<String>,
    /// `--for`: the window asked for.
    pub duration: Option<String>,
    /// `--context KEY=VALUE`, repeatable.
    pub context: Vec<String>,
}

/// Runs `elevated explain`; see the module documentation for the status.
/// `load` reads the configuration (reporting its errors itself), once the
/// question has been checked.
pub fn explain(q: &Query, load: impl FnOnce() -> Option<Loaded>) -> ExitCode {
    let usage = |msg: String| {
        eprintln!("elevated explain: {msg}");
        ExitCode::from(UNANSWERED)
    };
    let role = match RoleName::parse(&q.role) {
        Ok(r) => r,
        Err(e) => return usage(e.to_string()),
    };
    let at = match q.at.as_deref().map(at_time).transpose() {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let requested: Option<Duration> = match q.duration.as_deref().map(parse_duration).transpose() {
        Ok(d) => d,
        Err(e) => return usage(e),
    };
    let context = match context(&q.context) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let account = match users::by_name(&q.user) {
        Ok(a) => a,
        Err(e) => return usage(e.to_string()),
    };
    let Some(cfg) = load() else {
        return ExitCode::from(UNANSWERED);
    };
    let subject = Subject {
        user: account.name.clone(),
        uid: account.uid,
        groups: account.groups.clone(),
        attributes: cfg.attributes_of(&account.name),
        context,
    };
    let now = at.unwrap_or_else(Timestamp::now);
    let decision = decide(&cfg.policy, &subject, &cfg.host, &role, requested, now);
    let groups: Vec<&str> = subject.groups.iter().map(String::as_str).collect();
    println!(
        "user:     {} (uid {}; groups: {})",
        subject.user,
        subject.uid,
        groups.join(", ")
    );
    let tags: Vec<String> = cfg
        .host
        .tags
        .iter()
        .map(|(k, v)| format!("{k}={}", v.join("|")))
        .collect();
    println!("host:     {} (tags: {})", cfg.host.name, tags.join(", "));
    println!("role:     {role}");
    let given = if at.is_some() { "" } else { " (now)" };
    println!("at:       {}{given}", rfc3339_of(now));
    match &decision {
        Decision::Allow(a) => {
            println!("decision: allow");
            println!("rule:     {}", a.rule);
            let clamp = if a.clamped {
                " (shortened to the maximum)"
            } else {
                ""
            };
            println!(
                "window:   {}{clamp}",
                humantime::format_duration(a.duration)
            );
            match a.approval.count {
                0 => println!("approval: automatic"),
                n => println!("approval: {n} approver(s)"),
            }
            println!("why:      {}", a.message());
            ExitCode::from(ALLOWED)
        }
        Decision::Deny(d) => {
            println!("decision: deny");
            println!(
                "rule:     {}",
                d.rule.as_deref().unwrap_or("(none: default deny)")
            );
            println!("why:      {}", d.message);
            ExitCode::from(DENIED)
        }
    }
}

/// `--at`, in the forms `elevate audit --since` takes.
fn at_time(s: &str) -> Result<Timestamp, String> {
    let t = elevated_proto::when::parse_time(s, SystemTime::now())
        .map_err(|e| format!("--at {:?}: {e}", s.trim()))?;
    Timestamp::try_from(t).map_err(|e| format!("--at {:?}: {e}", s.trim()))
}

/// `--context KEY=VALUE` options as session facts. An unknown key is
/// refused: a typo would otherwise be a fact no rule looks at, and the
/// answer would silently be about another session than the one meant.
fn context(given: &[String]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let known = CONTEXT_FACTS.join(", ");
    let mut facts = BTreeMap::<String, Vec<String>>::new();
    for kv in given {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!("--context {kv:?} is not KEY=VALUE (keys: {known})"));
        };
        if !CONTEXT_FACTS.contains(&k) {
            return Err(format!(
                "--context {kv:?}: unknown fact {k:?}; known: {known}"
            ));
        }
        if k == "session" && v != "local" && v != "remote" {
            return Err(format!(
                "--context {kv:?}: session is \"local\" or \"remote\""
            ));
        }
        facts.entry(k.to_owned()).or_default().push(v.to_owned());
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keys_are_the_known_facts() {
        let facts = |v: &[&str]| context(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        let ok = facts(&[
            "session=remote",
            "service=sshd",
            "rhost=10.0.0.1",
            "tty=pts/0",
        ])
        .unwrap();
        assert_eq!(ok["session"], ["remote"]);
        let e = facts(&["sesion=remote"]).unwrap_err();
        assert!(
            e.contains("unknown fact \"sesion\"; known: session, service, tty, rhost"),
            "{e}"
        );
        assert!(facts(&["session"]).unwrap_err().contains("not KEY=VALUE"));
        assert!(facts(&["session=ssh"]).is_err());
    }

    #[test]
    fn at_takes_times_and_durations_ago() {
        assert_eq!(
            at_time("2026-11-24 10:00:00").unwrap().to_string(),
            "2026-11-24T10:00:00Z"
        );
        let ago = at_time("2h").unwrap();
        let d = Timestamp::now().as_second() - ago.as_second();
        assert!((7199..=7201).contains(&d), "{d}");
        assert!(at_time("yesterday").unwrap_err().contains("RFC 3339"));
    }
}
