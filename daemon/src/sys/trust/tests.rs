//! Walking trusted paths, in temporary directories (`/tmp` is root-owned
//! and sticky, so they are passed through).

use std::fs;
use std::os::unix::fs::{chown, symlink, PermissionsExt};

use super::*;

fn mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

/// A temporary root-owned 0755 directory with `a/b/` (0755) and
/// `a/b/f.toml` (0644).
fn tree() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    mode(d.path(), 0o755);
    let b = d.path().join("a/b");
    fs::create_dir_all(&b).unwrap();
    mode(&d.path().join("a"), 0o755);
    mode(&b, 0o755);
    let f = b.join("f.toml");
    fs::write(&f, "x = 1\n").unwrap();
    mode(&f, 0o644);
    (d, f)
}

fn problem(r: Result<Vec<u8>, TrustError>) -> (PathBuf, String) {
    let e = r.unwrap_err();
    (e.path.clone(), e.problem.to_string())
}

#[test]
fn reads_a_trusted_file() {
    let (_d, f) = tree();
    assert_eq!(read_file(&f, 100).unwrap(), b"x = 1\n");
    let (_, p) = problem(read_file(&f, 3));
    assert_eq!(p, "is larger than the limit of 3 bytes");
}

#[test]
fn refuses_a_symbolic_link_at_the_end_without_following_it() {
    let (d, f) = tree();
    let link = d.path().join("a/b/l.toml");
    symlink(&f, &link).unwrap();
    let (at, p) = problem(read_file(&link, 100));
    assert_eq!(at, link);
    assert!(p.starts_with("is a symbolic link"), "{p}");
    // A dangling link is refused the same way, not reported missing.
    let dangling = d.path().join("a/b/m.toml");
    symlink(d.path().join("gone"), &dangling).unwrap();
    let (_, p) = problem(read_file(&dangling, 100));
    assert!(p.starts_with("is a symbolic link"), "{p}");
}

#[test]
fn refuses_a_symbolic_link_on_the_way() {
    let (d, _f) = tree();
    let link = d.path().join("via");
    symlink(d.path().join("a"), &link).unwrap();
    let (at, p) = problem(read_file(&link.join("b/f.toml"), 100));
    assert_eq!(at, link);
    assert!(p.starts_with("is a symbolic link"), "{p}");
}

#[test]
fn refuses_a_directory_above_that_group_or_others_may_write() {
    let (d, f) = tree();
    for m in [0o775, 0o757, 0o777] {
        mode(&d.path().join("a"), m);
        let (at, p) = problem(read_file(&f, 100));
        assert_eq!(at, d.path().join("a"), "mode {m:o}");
        assert_eq!(
            p,
            format!(
                "is writable by group or others; run: chmod go-w {}",
                d.path().join("a").display()
            )
        );
    }
    // Group-writable with the sticky bit is still writable by the group.
    mode(&d.path().join("a/b"), 0o1775);
    mode(&d.path().join("a"), 0o755);
    let (at, p) = problem(read_file(&f, 100));
    assert_eq!(at, f);
    assert!(p.starts_with("is in directory"), "{p}");
}

#[test]
fn a_sticky_root_directory_is_passed_through_to_a_directory_only() {
    let (d, f) = tree();
    mode(&d.path().join("a"), 0o1777);
    // a/ is sticky and root's: a/b cannot be replaced, so a/b/f.toml reads.
    assert_eq!(read_file(&f, 100).unwrap(), b"x = 1\n");
    assert!(open_dir(&d.path().join("a/b")).unwrap().is_some());
    // But a file directly in it is refused.
    let g = d.path().join("a/g.toml");
    fs::write(&g, "").unwrap();
    mode(&g, 0o644);
    let (at, p) = problem(read_file(&g, 100));
    assert_eq!(at, g);
    assert_eq!(
        p,
        format!(
            "is in directory {}, which others may write to; move it into a directory only root can write",
            d.path().join("a").display()
        )
    );
    // And a trusted directory may not itself be open to others, sticky or not.
    let e = open_dir(&d.path().join("a")).err().unwrap();
    assert!(e
        .problem
        .to_string()
        .starts_with("is writable by group or others"));
}

#[test]
fn refuses_anything_on_the_way_owned_by_someone_else() {
    if !nix::unistd::geteuid().is_root() {
        return; // only root can give a file away
    }
    let (d, f) = tree();
    // A sticky directory owned by someone else: its owner could rename
    // what is in it.
    mode(&d.path().join("a"), 0o1777);
    chown(d.path().join("a"), Some(4242), None).unwrap();
    let (at, p) = problem(read_file(&f, 100));
    assert_eq!(at, d.path().join("a"));
    assert_eq!(
        p,
        format!(
            "is owned by uid 4242, not by root; run: chown root:root {}",
            d.path().join("a").display()
        )
    );
    mode(&d.path().join("a"), 0o755);
    let (at, _) = problem(read_file(&f, 100));
    assert_eq!(at, d.path().join("a"));
}

#[test]
fn refuses_dot_dot_and_reports_missing() {
    let (d, f) = tree();
    let odd = d.path().join("a/b/../b/f.toml");
    let (_, p) = problem(read_file(&odd, 100));
    assert!(p.starts_with("has a \"..\" component"), "{p}");
    let (at, p) = problem(read_file(&d.path().join("a/nope/f.toml"), 100));
    assert_eq!(at, d.path().join("a/nope"));
    assert_eq!(p, "does not exist");
    assert!(open_dir(&d.path().join("a/nope/deeper")).unwrap().is_none());
    assert!(open_dir(&d.path().join("a/b/none")).unwrap().is_none());
    let e = open_dir(&f).err().unwrap();
    assert_eq!(e.problem.to_string(), "is not a directory");
}

#[test]
fn files_of_a_trusted_directory_are_checked_too() {
    let (d, f) = tree();
    let dir = open_dir(&d.path().join("a/b")).unwrap().unwrap();
    symlink(&f, d.path().join("a/b/l.toml")).unwrap();
    fs::create_dir(d.path().join("a/b/sub.toml")).unwrap();
    let mut names = dir.names().unwrap();
    names.sort();
    assert_eq!(names, ["f.toml", "l.toml"]);
    assert_eq!(dir.read(OsStr::new("f.toml"), 100).unwrap(), b"x = 1\n");
    let e = dir.read(OsStr::new("l.toml"), 100).unwrap_err();
    assert!(e.problem.to_string().starts_with("is a symbolic link"));
    mode(&f, 0o664);
    let e = dir.read(OsStr::new("f.toml"), 100).unwrap_err();
    assert!(e
        .problem
        .to_string()
        .starts_with("is writable by group or others"));
}

#[test]
fn a_private_directory_is_for_its_owner_only() {
    let (d, _f) = tree();
    let state = d.path().join("state");
    fs::create_dir(&state).unwrap();
    mode(&state, 0o700);
    check_private_dir(&state).unwrap();
    for m in [0o750, 0o755, 0o701] {
        mode(&state, m);
        let e = check_private_dir(&state).unwrap_err();
        assert_eq!(
            e.problem.to_string(),
            format!(
                "is mode {m:04o}; it must be accessible by root only: run: chmod 0700 {}",
                state.display()
            )
        );
    }
}

#[test]
fn a_program_is_opened_only_when_trusted() {
    let (d, _f) = tree();
    let link = d.path().join("a/b/hook");
    symlink("/bin/sh", &link).unwrap();
    let e = open_program(&link).unwrap_err();
    assert!(e.problem.to_string().starts_with("is a symbolic link"));
    let hook = d.path().join("a/b/real");
    fs::write(&hook, "#!/bin/sh\n").unwrap();
    mode(&hook, 0o755);
    open_program(&hook).unwrap();
    mode(&d.path().join("a/b"), 0o777);
    let e = open_program(&hook).unwrap_err();
    assert_eq!(e.path, d.path().join("a/b"));
}
