//! Finding and reading configuration files the way sudo reads sudoers: in
//! lexical order, and only when nobody but root (or the daemon's own user)
//! could have written them or anything above them (see
//! [`crate::sys::trust`]).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use crate::sys::trust::{self, TrustError, TrustedDir};

/// Largest configuration file read (1 MiB).
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

fn trust_error(asked: &Path, e: &TrustError) -> ConfigError {
    ConfigError::file(asked, e.message_for(asked))
}

/// Whether a directory entry is a configuration file: a name ending in
/// `.toml` that does not start with `.` (editor leftovers such as
/// `10-db.toml~` or `.10-db.toml.swp` are skipped).
fn is_toml_name(name: &OsString) -> bool {
    let bytes = name.as_bytes();
    !bytes.starts_with(b".") && bytes.ends_with(b".toml") && bytes != b".toml"
}

/// The checked directory `dir` and its `*.toml` names, sorted byte-wise;
/// `None` when the directory does not exist.
///
/// The directory and every directory above it must be trusted. Regular
/// files and symbolic links are listed (a link so that reading it reports
/// the refusal: links are never followed); subdirectories and other kinds
/// are skipped.
fn toml_names_in(dir: &Path) -> Result<Option<(TrustedDir, Vec<OsString>)>, ConfigError> {
    let Some(trusted) = trust::open_dir(dir).map_err(|e| trust_error(dir, &e))? else {
        return Ok(None);
    };
    let mut names: Vec<OsString> = trusted
        .names()
        .map_err(|e| trust_error(dir, &e))?
        .into_iter()
        .filter(is_toml_name)
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(Some((trusted, names)))
}

/// The `*.toml` files in `dir`, sorted by byte-wise file name (see
/// [`read_toml_dir`] for which). A missing directory holds no files.
#[cfg(test)]
pub fn toml_files_in(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    Ok(toml_names_in(dir)?
        .map(|(_, names)| names.into_iter().map(|n| dir.join(n)).collect())
        .unwrap_or_default())
}

/// Reads a configuration file after checking that it can be trusted.
///
/// Refused, with a message saying what to run: a file that is a symbolic
/// link or not a regular file, is owned by someone other than root or the
/// effective user, is writable by group or others, is larger than
/// [`MAX_FILE_SIZE`], or is not UTF-8; also a file any directory above
/// which fails the same ownership and permission checks (see
/// [`crate::sys::trust`]). The checks are made on the opened file, so the
/// file cannot be swapped between check and read.
pub fn read_trusted(path: &Path) -> Result<String, ConfigError> {
    let bytes = trust::read_file(path, MAX_FILE_SIZE).map_err(|e| trust_error(path, &e))?;
    utf8(path, bytes)
}

fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, ConfigError> {
    String::from_utf8(bytes).map_err(|e| {
        ConfigError::file(
            path,
            format!(
                "is not valid UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Every `*.toml` file of `dir` in lexical order, each with its text or
/// the reason it could not be read (checked like [`read_trusted`]), so
/// that a loader can report every problem at once and in file order.
pub(crate) type DirFiles = Vec<(PathBuf, Result<String, ConfigError>)>;

/// Reads the `*.toml` files of `dir`; see [`DirFiles`]. Files are opened
/// relative to the checked directory. A missing directory holds no files.
pub(crate) fn read_toml_dir(dir: &Path) -> Result<DirFiles, ConfigError> {
    let Some((trusted, names)) = toml_names_in(dir)? else {
        return Ok(Vec::new());
    };
    Ok(names
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let text = trusted
                .read(&name, MAX_FILE_SIZE)
                .map_err(|e| trust_error(&path, &e))
                .and_then(|bytes| utf8(&path, bytes));
            (path, text)
        })
        .collect())
}

/// Whether `dir` exists, after checking it and the directories above it
/// like [`read_toml_dir`] does.
pub fn dir_exists(dir: &Path) -> Result<bool, ConfigError> {
    Ok(trust::open_dir(dir)
        .map_err(|e| trust_error(dir, &e))?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, "x = 1\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn names(v: &[PathBuf]) -> Vec<String> {
        v.iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn lists_toml_files_in_lexical_order() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "20-b.toml",
            "10-a.toml",
            "B.toml",
            "a.toml",
            ".hidden.toml",
            "x.toml~",
            "notes.txt",
            "100.toml",
        ] {
            write(d.path(), n, 0o644);
        }
        fs::create_dir(d.path().join("dir.toml")).unwrap();
        std::os::unix::fs::symlink(d.path().join("a.toml"), d.path().join("l.toml")).unwrap();
        std::os::unix::fs::symlink(d.path().join("gone"), d.path().join("m.toml")).unwrap();
        let got = toml_files_in(d.path()).unwrap();
        assert_eq!(
            names(&got),
            [
                "10-a.toml",
                "100.toml",
                "20-b.toml",
                "B.toml",
                "a.toml",
                "l.toml",
                "m.toml"
            ]
        );
    }

    #[test]
    fn missing_directory_is_empty() {
        let d = tempfile::tempdir().unwrap();
        assert!(toml_files_in(&d.path().join("nope")).unwrap().is_empty());
    }

    #[test]
    fn reads_a_safe_file() {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let p = write(d.path(), "a.toml", 0o644);
        assert_eq!(read_trusted(&p).unwrap(), "x = 1\n");
        let p = write(d.path(), "b.toml", 0o600);
        assert_eq!(read_trusted(&p).unwrap(), "x = 1\n");
    }

    #[test]
    fn refuses_group_or_world_writable() {
        let d = tempfile::tempdir().unwrap();
        for mode in [0o664, 0o646, 0o666] {
            let p = write(d.path(), "a.toml", mode);
            let e = read_trusted(&p).unwrap_err();
            assert_eq!(e.line, None);
            assert_eq!(
                e.message,
                format!(
                    "is writable by group or others; run: chmod go-w {}",
                    p.display()
                )
            );
        }
    }

    #[test]
    fn refuses_non_regular_and_missing() {
        let d = tempfile::tempdir().unwrap();
        let e = read_trusted(d.path()).unwrap_err();
        assert_eq!(e.message, "is not a regular file");
        let e = read_trusted(&d.path().join("missing.toml")).unwrap_err();
        assert_eq!(e.message, "does not exist");
        let fifo = d.path().join("fifo.toml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = read_trusted(&fifo).unwrap_err();
        assert_eq!(e.message, "is not a regular file");
    }

    #[test]
    fn refuses_a_file_owned_by_someone_else() {
        if !nix::unistd::geteuid().is_root() {
            return; // only root can give a file away
        }
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "a.toml", 0o644);
        std::os::unix::fs::chown(&p, Some(4242), None).unwrap();
        let e = read_trusted(&p).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "is owned by uid 4242, not by root; run: chown root:root {}",
                p.display()
            )
        );
    }

    #[test]
    fn refuses_large_and_non_utf8() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big.toml");
        fs::write(&p, vec![b'#'; 1024 * 1024 + 1]).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_trusted(&p).unwrap_err();
        assert!(e.message.contains("larger than the limit"), "{}", e.message);
        let p = d.path().join("bin.toml");
        fs::write(&p, b"a = \"\xff\"\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_trusted(&p).unwrap_err();
        assert_eq!(e.message, "is not valid UTF-8 (at byte 5)");
    }

    #[test]
    fn refuses_a_file_in_a_directory_others_may_write() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "a.toml", 0o644);
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let e = read_trusted(&p).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "{0} is writable by group or others; run: chmod go-w {0}",
                d.path().display()
            )
        );
        // Sticky does not help a file directly in the directory: it could be
        // a hard link someone else made, or a name someone else took first.
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        let e = read_trusted(&p).unwrap_err();
        assert!(
            e.message.contains("which others may write to"),
            "{}",
            e.message
        );
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
    }
}
