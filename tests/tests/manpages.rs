//! The manual pages the package ships: `elevate man` and `elevated man`
//! (what scripts/package installs as elevate(1) and elevated(8)) and the
//! hand-written pages in packaging/man, rendered by the real `man` (or
//! `groff`). Cheap: nothing is installed and no root is needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use elevated_tests::bin;

/// Every page the package ships, as `name(section)`.
const SHIPPED: &[&str] = &[
    "elevate(1)",
    "elevated(8)",
    "elevated.toml(5)",
    "pam_elevate(8)",
];

/// Pages of the system the shipped pages may point to: sudo, PAM and
/// OpenSSH, which every host running elevated has.
const SYSTEM: &[&str] = &[
    "sudo(8)",
    "sudoers(5)",
    "visudo(8)",
    "gpasswd(1)",
    "pam(8)",
    "pam.conf(5)",
    "pam-auth-update(8)",
    "ssh-keygen(1)",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The roff of `program man`, in a temporary file.
fn generated(program: &str) -> tempfile::NamedTempFile {
    let out = Command::new(bin(program)).arg("man").output().unwrap();
    assert!(out.status.success(), "{program} man: {out:?}");
    let page = tempfile::Builder::new()
        .prefix("elvt-man")
        .tempfile()
        .unwrap();
    std::fs::write(page.path(), &out.stdout).unwrap();
    page
}

/// `page` rendered as plain text, by `man -l` or else `groff -man`.
fn render(page: &Path) -> String {
    let tries: [(&str, Vec<&str>); 2] = [
        ("man", vec!["-l"]),
        ("groff", vec!["-man", "-Tutf8", "-P-c"]),
    ];
    for (tool, args) in tries {
        let Ok(out) = Command::new(tool)
            .args(args)
            .arg(page)
            .env("MANWIDTH", "200")
            .env("MAN_KEEP_FORMATTING", "0")
            .env("GROFF_NO_SGR", "1")
            .output()
        else {
            continue;
        };
        assert!(out.status.success(), "{tool} {}: {out:?}", page.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.trim().is_empty(),
            "{tool} warns about {}: {err}",
            page.display()
        );
        // Overstriking (bold as c\bc) would hide the words.
        let text = String::from_utf8_lossy(&out.stdout);
        let mut plain = String::new();
        for c in text.chars() {
            if c == '\u{8}' {
                plain.pop();
            } else {
                plain.push(c);
            }
        }
        return plain;
    }
    panic!("neither man nor groff is installed: the manual pages cannot be checked");
}

fn section_titles(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()) && !l.contains('('))
        .map(|l| l.trim().to_owned())
        .collect()
}

/// Every `name(N)` in `text`.
fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    for (i, _) in text.match_indices('(') {
        let Some(&[n, b')']) = b.get(i + 1..i + 3) else {
            continue;
        };
        if !(b'1'..=b'8').contains(&n) {
            continue;
        }
        let name: String = text[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() {
            out.push(format!("{name}({})", n as char));
        }
    }
    out
}

#[test]
fn the_generated_pages_have_the_sections_an_administrator_looks_for() {
    let common = [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ];
    let cases: [(&str, &[&str], &[&str]); 2] = [
        (
            "elevate",
            &[
                "roles", "request", "run", "status", "list", "show", "approve", "deny", "cancel",
                "revoke", "extend", "review", "audit",
            ],
            &["ELEVATE_SOCKET", "/run/elevated/elevated.sock", "69"],
        ),
        (
            "elevated",
            &["check-config", "explain", "revoke-all"],
            &["ELEVATED_LOG", "/etc/elevated/elevated.toml", "SIGHUP"],
        ),
    ];
    for (program, commands, words) in cases {
        let text = render(generated(program).path());
        let titles = section_titles(&text);
        for s in common {
            assert!(
                titles.iter().any(|t| t == s),
                "{program}: no {s} in {titles:?}"
            );
        }
        for c in commands {
            let entry = format!("   {program} {c}");
            assert!(
                text.lines().any(|l| l == entry),
                "{program}: command {c} not described:\n{text}"
            );
        }
        for w in words {
            assert!(text.contains(w), "{program}: {w} missing:\n{text}");
        }
        assert!(
            !text.contains("elevate-"),
            "{program}: names a per-command page:\n{text}"
        );
    }
}

#[test]
fn shipped_pages_name_only_pages_that_exist() {
    let made = [generated("elevate"), generated("elevated")];
    let mut pages: Vec<PathBuf> = made.iter().map(|p| p.path().to_path_buf()).collect();
    for entry in std::fs::read_dir(repo().join("packaging/man")).unwrap() {
        pages.push(entry.unwrap().path());
    }
    assert_eq!(
        pages.len(),
        SHIPPED.len(),
        "a page was added: list it in SHIPPED"
    );
    let mut seen = 0;
    for page in &pages {
        let text = render(page);
        // The first and last lines are the page's own header and footer.
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let body = lines
            .get(1..lines.len().saturating_sub(1))
            .unwrap_or(&[])
            .join("\n");
        for r in references(&body) {
            assert!(
                SHIPPED.contains(&r.as_str()) || SYSTEM.contains(&r.as_str()),
                "{} names {r}, which is neither shipped nor a system page",
                page.display()
            );
            seen += 1;
        }
    }
    assert!(
        seen > 10,
        "references not found: the check would pass on anything"
    );
}

#[test]
fn references_are_found_in_rendered_text() {
    assert_eq!(
        references("see elevate(1), pam_elevate(8) and elevate-roles(1); f(x) (2)"),
        ["elevate(1)", "pam_elevate(8)", "elevate-roles(1)"]
    );
}
