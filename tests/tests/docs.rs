//! The documentation under test (docs/testing.md, "Examples under test"):
//! every TOML block passes `elevated check-config`, every command example
//! whose output is shown gives that output, every other block says why it
//! is not run. And a broken example is found, with its file and line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use elevated_tests::docs::{check, doc_files, Failure};
use elevated_tests::require_root;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn report(failures: &[Failure]) -> String {
    failures.iter().map(|f| format!("{f}\n")).collect()
}

#[test]
fn every_documented_example_holds() {
    require_root();
    let failures = check(&repo(), &[]);
    assert!(
        failures.is_empty(),
        "{} documentation example(s) differ from the program:\n{}",
        failures.len(),
        report(&failures)
    );
}

/// Copies the documentation, breaks one TOML block and one output line of
/// README.md, and expects exactly those two reported, where they are.
#[test]
fn a_broken_example_is_reported_with_its_file_and_line() {
    require_root();
    let copy = tempfile::tempdir().unwrap();
    for f in doc_files(&repo()) {
        let to = copy.path().join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(&f), to).unwrap();
    }
    let readme = copy.path().join("README.md");
    let text = std::fs::read_to_string(&readme).unwrap();
    let toml_line = line_of(&text, "action_duration = \"5m\"");
    let out_line = line_of(&text, "  window ");
    let broken = text
        .replacen(
            "action_duration = \"5m\"",
            "action_duration = \"forever\"",
            1,
        )
        .replacen("  window ", "  windows ", 1);
    std::fs::write(&readme, broken).unwrap();

    let before: Vec<Failure> = check(&repo(), &["README.md"]);
    let after = check(copy.path(), &["README.md"]);
    let new: Vec<&Failure> = after
        .iter()
        .filter(|f| !before.iter().any(|b| b.line == f.line && b.file == f.file))
        .collect();
    let places: Vec<(String, usize)> = new.iter().map(|f| (f.file.clone(), f.line)).collect();
    let mut want = vec![
        ("README.md".to_owned(), toml_line),
        ("README.md".to_owned(), out_line),
    ];
    want.sort();
    assert_eq!(places, want, "{}", report(&after));
    let at = |line: usize| new.iter().find(|f| f.line == line).unwrap();
    assert!(at(toml_line).what.contains("forever"), "{}", at(toml_line));
    let output = &at(out_line).what;
    assert!(
        output.contains("  windows ") && output.contains("  window "),
        "{output}"
    );
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}
