//! Finding and reading configuration files the way sudo reads sudoers: in
//! lexical order, and only when nobody but root (or the daemon's own user)
//! could have written them.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use super::error::ConfigError;

/// Largest configuration file read (1 MiB).
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// The `*.toml` files in `dir`, sorted by byte-wise file name.
///
/// Only names ending in `.toml` and not starting with `.` are taken, and only
/// when they are regular files (a symbolic link counts if it points at one).
/// Editor leftovers such as `10-db.toml~` or `.10-db.toml.swp` are therefore
/// skipped. A missing directory holds no files: `Ok(vec![])`.
pub fn toml_files_in(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ConfigError::file(
                dir,
                format!("cannot read directory: {e}"),
            ))
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| ConfigError::file(dir, format!("cannot read directory: {e}")))?;
        let name = entry.file_name();
        let bytes = name.as_bytes();
        if bytes.starts_with(b".") || !bytes.ends_with(b".toml") || bytes == b".toml" {
            continue;
        }
        let path = entry.path();
        // Follows symbolic links; a dangling link is skipped like any other
        // non-file.
        if fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
    files.sort_by(|a, b| {
        let a = a.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
        let b = b.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
        a.cmp(b)
    });
    Ok(files)
}

/// Reads a configuration file after checking that it can be trusted.
///
/// Refused, with a message saying what to run: a file that is not a regular
/// file, is owned by someone other than root or the effective user, is
/// writable by group or others, is larger than [`MAX_FILE_SIZE`], or is not
/// UTF-8; also a file whose directory is writable by others without the
/// sticky bit (anyone could replace it). The checks are made on the opened
/// file, so the file cannot be swapped between check and read.
pub fn read_trusted(path: &Path) -> Result<String, ConfigError> {
    let err = |message: String| ConfigError::file(path, message);
    // A first look without opening, so that a FIFO or device is refused
    // before `open` could block on it.
    let meta = fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(err("is not a regular file".into()));
    }
    check_dir(path)?;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
        .map_err(|e| err(format!("cannot open: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| err(format!("cannot read: {e}")))?;
    check_meta(path, &meta)?;
    read_limited(path, &mut file)
}

/// Every `*.toml` file of `dir` in lexical order, each with its text or
/// the reason it could not be read (through [`toml_files_in`] and
/// [`read_trusted`]), so that a loader can report every problem at once and
/// in file order.
pub(crate) type DirFiles = Vec<(PathBuf, Result<String, ConfigError>)>;

/// Reads the `*.toml` files of `dir`; see [`DirFiles`].
pub(crate) fn read_toml_dir(dir: &Path) -> Result<DirFiles, ConfigError> {
    Ok(toml_files_in(dir)?
        .into_iter()
        .map(|path| {
            let text = read_trusted(&path);
            (path, text)
        })
        .collect())
}

fn check_meta(path: &Path, meta: &fs::Metadata) -> Result<(), ConfigError> {
    let shown = path.display();
    if !meta.is_file() {
        return Err(ConfigError::file(path, "is not a regular file"));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != euid {
        return Err(ConfigError::file(
            path,
            format!(
                "is owned by uid {}, not by root; run: chown root:root {shown}",
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(ConfigError::file(
            path,
            format!("is writable by group or others; run: chmod go-w {shown}"),
        ));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(ConfigError::file(
            path,
            format!(
                "is {} bytes, larger than the limit of {MAX_FILE_SIZE} bytes",
                meta.len()
            ),
        ));
    }
    Ok(())
}

/// Refuses a file in a directory that others may write to without the
/// sticky bit: anyone could rename a file of their own over it.
fn check_dir(path: &Path) -> Result<(), ConfigError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(meta) = fs::metadata(dir) else {
        return Ok(());
    };
    if meta.mode() & 0o002 != 0 && meta.mode() & 0o1000 == 0 {
        return Err(ConfigError::file(
            path,
            format!(
                "is in directory {0}, which is writable by others; run: chmod o-w {0}",
                dir.display()
            ),
        ));
    }
    Ok(())
}

fn read_limited(path: &Path, file: &mut File) -> Result<String, ConfigError> {
    let mut buf = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ConfigError::file(path, format!("cannot read: {e}")))?;
    if buf.len() as u64 > MAX_FILE_SIZE {
        return Err(ConfigError::file(
            path,
            format!("is larger than the limit of {MAX_FILE_SIZE} bytes"),
        ));
    }
    String::from_utf8(buf).map_err(|e| {
        ConfigError::file(
            path,
            format!(
                "is not valid UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
                "l.toml"
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
        assert!(e.message.starts_with("cannot read:"), "{}", e.message);
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
    fn refuses_world_writable_directory_without_sticky_bit() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "a.toml", 0o644);
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let e = read_trusted(&p).unwrap_err();
        assert!(
            e.message.contains("writable by others; run: chmod o-w"),
            "{}",
            e.message
        );
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(read_trusted(&p).is_ok());
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
    }
}
