//! The documentation under test: every code block of README.md, docs/*.md
//! and the hand-written manual pages carries a `doc-check` marker; TOML
//! blocks are checked with `elevated check-config`, command examples are
//! run against a private daemon and their output compared with what the
//! documentation shows. The vocabulary is in docs/testing.md.

pub mod compare;
pub mod extract;
pub mod marker;
pub mod run;
pub mod scenario;
pub mod tomlcheck;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use extract::Block;
use marker::{Marker, TomlKind};

/// One difference between the documentation and the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub file: String,
    pub line: usize,
    pub what: String,
}

impl Failure {
    fn at(block: &Block, what: String) -> Self {
        Self {
            file: block.file.clone(),
            line: block.line,
            what,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// The documentation files under `root`, relative, in reading order:
/// README.md, docs/*.md, packaging/man/*.[1-8].
pub fn doc_files(root: &Path) -> Vec<String> {
    let mut out = vec!["README.md".to_owned()];
    for (dir, keep) in [
        ("docs", (|n: &str| n.ends_with(".md")) as fn(&str) -> bool),
        ("packaging/man", |n: &str| {
            n.rsplit_once('.')
                .is_some_and(|(_, e)| matches!(e, "1" | "5" | "8"))
        }),
    ] {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.retain(|n| keep(n));
        names.sort();
        out.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
    }
    out
}

/// Whether the block shows a command with its output.
fn shows_output(block: &Block) -> bool {
    block.lines.iter().any(|l| run::prompt(l).is_some())
        && block
            .lines
            .iter()
            .any(|l| !l.trim().is_empty() && run::prompt(l).is_none())
}

/// Checks every block of the files in `only` (all documentation files
/// when empty); named blocks are taken from every file read before.
pub fn check(root: &Path, only: &[&str]) -> Vec<Failure> {
    let mut failures = Vec::new();
    let mut named: BTreeMap<String, (TomlKind, Block)> = BTreeMap::new();
    let mut groups = tomlcheck::Groups::default();
    for file in doc_files(root) {
        let blocks = match extract::blocks(root, &file) {
            Ok(b) => b,
            Err(e) => {
                failures.push(Failure {
                    file: file.clone(),
                    line: 0,
                    what: e,
                });
                continue;
            }
        };
        let checked = only.is_empty() || only.contains(&file.as_str());
        for block in blocks {
            let marker = block.marker.as_ref().map(|(n, m)| (*n, marker::parse(m)));
            let marker = match marker {
                None => {
                    if checked {
                        failures.push(Failure::at(
                            &block,
                            "no doc-check marker before this block (see docs/testing.md)".into(),
                        ));
                    }
                    continue;
                }
                Some((n, Err(e))) => {
                    if checked {
                        failures.push(Failure {
                            file: block.file.clone(),
                            line: n,
                            what: format!("bad doc-check marker: {e}"),
                        });
                    }
                    continue;
                }
                Some((_, Ok(m))) => m,
            };
            if let Marker::Toml {
                kind,
                name: Some(name),
                ..
            } = &marker
            {
                if named.insert(name.clone(), (*kind, block.clone())).is_some() && checked {
                    failures.push(Failure::at(
                        &block,
                        format!("a block named `{name}` was named before"),
                    ));
                }
            }
            if checked {
                failures.extend(check_block(&block, &marker, &named, &mut groups));
            }
        }
    }
    failures
}

fn check_block(
    block: &Block,
    marker: &Marker,
    named: &BTreeMap<String, (TomlKind, Block)>,
    groups: &mut tomlcheck::Groups,
) -> Vec<Failure> {
    let is_toml = block.lang == "toml";
    match marker {
        Marker::Toml { kind, extends, .. } => {
            if !is_toml && !block.lang.is_empty() {
                return vec![Failure::at(
                    block,
                    format!("marked as TOML but the block is `{}`", block.lang),
                )];
            }
            tomlcheck::check(block, *kind, extends, named, groups)
        }
        _ if is_toml => vec![Failure::at(
            block,
            "a TOML block must be checked: mark it settings, policy, users or host".into(),
        )],
        Marker::Text(_) if shows_output(block) => vec![Failure::at(
            block,
            "shows a command with its output: mark it `run SCENARIO` or `not-run: WHY`".into(),
        )],
        Marker::Run { scenario, of, user } => match scenario::stage(scenario, named) {
            Ok(stage) => run::run(block, &stage, of.as_deref(), user.as_deref()),
            Err(e) => vec![Failure::at(block, format!("scenario `{scenario}`: {e}"))],
        },
        Marker::NotRun(_) | Marker::Text(_) => Vec::new(),
    }
}
