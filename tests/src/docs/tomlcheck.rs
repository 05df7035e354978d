//! TOML blocks checked with the real `elevated check-config`: a policy
//! block (with the blocks it extends) in a private configuration, a
//! settings block as the settings file with its paths moved to a private
//! directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

use super::extract::Block;
use super::marker::TomlKind;
use super::Failure;
use crate::daemon::{text, Daemon};
use crate::TestGroup;

/// Groups named in documentation, made on the host (with the test prefix)
/// the first time a block names them: `check-config` checks a role's
/// groups against /etc/group, and the host's own `adm` may be missing.
#[derive(Default)]
pub struct Groups(BTreeMap<String, TestGroup>);

impl Groups {
    /// The test group standing for the documented `name`.
    pub fn get(&mut self, name: &str) -> &str {
        let tag: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(6)
            .collect();
        &self
            .0
            .entry(name.to_owned())
            .or_insert_with(|| TestGroup::new(&tag))
            .name
    }

    /// (test name, documented name) pairs, longest test name first.
    pub fn names(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .0
            .iter()
            .map(|(d, g)| (g.name.clone(), d.clone()))
            .collect();
        v.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        v
    }
}

/// `groups = [...]` (also `exempt_groups`), one line.
fn groups_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r#"groups\s*=\s*\[([^\]]*)\]"#).unwrap())
}

/// The block's text with every group in a `groups` list replaced by its
/// test group (line numbers unchanged).
pub fn map_groups(text: &str, groups: &mut Groups) -> String {
    let quoted = Regex::new(r#""([^"]*)""#).unwrap();
    groups_re()
        .replace_all(text, |c: &regex::Captures| {
            let list = quoted.replace_all(&c[1], |q: &regex::Captures| {
                format!("\"{}\"", groups.get(&q[1]))
            });
            c[0].replace(&c[1], &list)
        })
        .into_owned()
}

/// A file written for a check and the block it came from.
struct Origin {
    path: PathBuf,
    block: Block,
    /// Lines inserted after line `.0` of the file (settings paths).
    inserted: (usize, usize),
}

/// Checks one TOML block; `named` holds the earlier named blocks.
pub fn check(
    block: &Block,
    kind: TomlKind,
    extends: &[String],
    named: &BTreeMap<String, (TomlKind, Block)>,
    groups: &mut Groups,
) -> Vec<Failure> {
    let d = Daemon::new("");
    let root = d.dir.path().to_path_buf();
    let mut origins = Vec::new();
    let mut failures = Vec::new();
    let mut config = d.config.clone();
    let parts = extends
        .iter()
        .map(|n| match named.get(n) {
            Some((k, b)) => Ok((*k, b)),
            None => Err(n),
        })
        .chain(std::iter::once(Ok((kind, block))));
    for (i, part) in parts.enumerate() {
        let (k, b) = match part {
            Ok(p) => p,
            Err(n) => {
                failures.push(Failure::at(
                    block,
                    format!("extends `{n}`, which no earlier block is named"),
                ));
                continue;
            }
        };
        let body = map_groups(&b.text(), groups);
        let (path, body, inserted) = match k {
            TomlKind::Settings => {
                let (t, ins) = private_paths(&body, &root);
                let p = root.join("doc-settings.toml");
                config = p.clone();
                (p, t, ins)
            }
            TomlKind::Policy => (root.join(format!("policy.d/{i:02}-doc.toml")), body, (0, 0)),
            TomlKind::Users => (root.join(format!("users.d/{i:02}-doc.toml")), body, (0, 0)),
            TomlKind::Host => (root.join(format!("host.d/{i:02}-doc.toml")), body, (0, 0)),
        };
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        d.file(&rel, &body, 0o644);
        origins.push(Origin {
            path,
            block: b.clone(),
            inserted,
        });
    }
    if !failures.is_empty() {
        return failures;
    }
    let out = std::process::Command::new(crate::bin("elevated"))
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    if out.status.success() && stderr.trim().is_empty() {
        return Vec::new();
    }
    let why = if out.status.success() {
        "warns"
    } else {
        "fails"
    };
    let unmap = |s: &str| {
        let mut s = s.to_owned();
        for (t, doc) in groups.names() {
            s = s.replace(&t, &doc);
        }
        s
    };
    // The summary line (`N error(s)`) repeats what the lines before say.
    let summary = Regex::new(r"^elevated: (the configuration has )?\d+ error").unwrap();
    for l in stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !summary.is_match(l))
    {
        let (b, line) = locate(l, &origins).unwrap_or((block, block.line));
        failures.push(Failure {
            file: b.file.clone(),
            line,
            what: format!(
                "elevated check-config {why}: {}",
                unmap(&strip_paths(l, &root))
            ),
        });
    }
    if failures.is_empty() {
        failures.push(Failure::at(
            block,
            format!("elevated check-config {why}: {stdout}"),
        ));
    }
    failures
}

/// The documentation line an error `FILE:LINE: message` is about.
fn locate<'a>(err: &str, origins: &'a [Origin]) -> Option<(&'a Block, usize)> {
    let o = origins
        .iter()
        .find(|o| err.starts_with(&format!("{}:", o.path.display())))?;
    let rest = &err[o.path.display().to_string().len() + 1..];
    let n: usize = rest.split(':').next()?.parse().ok()?;
    let (after, count) = o.inserted;
    let n = if n > after {
        n.saturating_sub(count).max(after)
    } else {
        n
    };
    Some((&o.block, o.block.line + n - 1))
}

fn strip_paths(s: &str, root: &Path) -> String {
    s.replace(&format!("{}/", root.display()), "")
}

/// `[daemon]` keys naming places the check must not touch: moved to the
/// private directory.
const PRIVATE: &[(&str, &str)] = &[
    ("socket", "run/elevated.sock"),
    ("state_dir", "state"),
    ("sudoers_dir", "sudoers.d"),
    ("policy_dir", "policy.d"),
    ("host_dir", "host.d"),
    ("users_dir", "users.d"),
    ("allowed_signers", "allowed_signers"),
];

/// Settings with the private paths: present `[daemon]` keys rewritten in
/// place, missing ones inserted after the `[daemon]` header (or a
/// `[daemon]` table appended). Returns the text and (header line, lines
/// inserted there).
fn private_paths(body: &str, root: &Path) -> (String, (usize, usize)) {
    let value = |rel: &str| format!("\"{}\"", root.join(rel).display());
    let mut lines: Vec<String> = body.lines().map(str::to_owned).collect();
    let mut table = String::new();
    let mut header = None;
    let mut seen = Vec::new();
    for (i, l) in lines.iter_mut().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            table = t.to_owned();
            if t == "[daemon]" {
                header = Some(i);
            }
            continue;
        }
        if table == "[[notify.command]]" {
            // A hook the example names but this host lacks: a trusted
            // stand-in (root's, 0755) takes its place.
            if let Some((key, v)) = t.split_once('=') {
                let path = v
                    .split('#')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .trim_matches('"');
                if key.trim() == "command" && !Path::new(path).exists() {
                    let hook = root.join("hook");
                    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
                    std::fs::set_permissions(
                        &hook,
                        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(
                            0o755,
                        ),
                    )
                    .unwrap();
                    *l = format!("command = \"{}\"", hook.display());
                }
            }
            continue;
        }
        if table != "[daemon]" {
            continue;
        }
        if let Some((key, _)) = t.split_once('=') {
            if let Some((k, rel)) = PRIVATE.iter().find(|(k, _)| *k == key.trim()) {
                *l = format!("{k} = {}", value(rel));
                seen.push(*k);
            }
        }
    }
    let missing: Vec<String> = PRIVATE
        .iter()
        .filter(|(k, _)| !seen.contains(k))
        .map(|(k, rel)| format!("{k} = {}", value(rel)))
        .collect();
    let n = missing.len();
    match header {
        Some(h) => {
            lines.splice(h + 1..h + 1, missing);
            (lines.join("\n") + "\n", (h + 1, n))
        }
        None => {
            lines.push("[daemon]".to_owned());
            lines.extend(missing);
            (lines.join("\n") + "\n", (0, 0))
        }
    }
}
