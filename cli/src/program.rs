//! The command line `elevate run` hands to sudo: the program found the way
//! a shell would, and sudo's arguments for a grant's rule.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use elevated_proto::SudoView;

/// The arguments for sudo: `-n` when no password is asked, `-u RUNAS`
/// unless root, then the command.
#[must_use]
pub fn sudo_args(sudo: &SudoView, exe: &Path, rest: &[OsString]) -> Vec<OsString> {
    let mut v: Vec<OsString> = Vec::new();
    if sudo.nopasswd {
        v.push("-n".into());
    }
    if sudo.runas != "root" {
        v.push("-u".into());
        v.push(sudo.runas.clone().into());
    }
    v.push("--".into());
    v.push(exe.as_os_str().to_owned());
    v.extend(rest.iter().cloned());
    v
}

/// Makes `program` an absolute path: through `PATH` when it holds no `/`
/// (relative and empty `PATH` entries are skipped), else relative to `cwd`.
pub fn resolve(program: &OsStr, path_var: Option<&OsStr>, cwd: &Path) -> Result<PathBuf, String> {
    let shown = program.to_string_lossy();
    if program.is_empty() {
        return Err("empty command name".into());
    }
    if program.as_encoded_bytes().contains(&b'/') {
        let full = normalise(&cwd.join(program));
        return if is_executable(&full) {
            Ok(full)
        } else {
            Err(format!("{shown}: no such executable file"))
        };
    }
    let dirs = path_var.map(std::env::split_paths).into_iter().flatten();
    dirs.filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("{shown}: command not found in PATH"))
}

/// Drops `.` components.
fn normalise(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use elevated_testkit::samples::sudo;

    #[test]
    fn sudo_command_line() {
        let exe = Path::new("/usr/bin/psql");
        let rest: Vec<OsString> = vec!["-c".into(), "select 1".into()];
        let root = sudo("root", &["ALL"]);
        assert_eq!(
            sudo_args(&root, exe, &rest),
            ["-n", "--", "/usr/bin/psql", "-c", "select 1"]
        );
        let mut pg = sudo("postgres", &["/usr/bin/psql"]);
        pg.nopasswd = false;
        assert_eq!(
            sudo_args(&pg, exe, &[]),
            ["-u", "postgres", "--", "/usr/bin/psql"]
        );
    }

    #[test]
    fn resolves_through_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let plain = bin.join("plain");
        std::fs::write(&plain, "").unwrap();
        let path_var = std::env::join_paths(["relative", "", bin.to_str().unwrap()]).unwrap();
        let cwd = dir.path();
        assert_eq!(
            resolve(OsStr::new("tool"), Some(&path_var), cwd).unwrap(),
            tool
        );
        assert!(resolve(OsStr::new("plain"), Some(&path_var), cwd).is_err());
        assert!(resolve(OsStr::new("nope"), Some(&path_var), cwd).is_err());
        assert!(resolve(OsStr::new("tool"), None, cwd).is_err());
        assert_eq!(resolve(OsStr::new("./bin/tool"), None, cwd).unwrap(), tool);
        assert_eq!(
            resolve(tool.as_os_str(), None, Path::new("/")).unwrap(),
            tool
        );
        assert!(resolve(OsStr::new(""), Some(&path_var), cwd).is_err());
    }
}
