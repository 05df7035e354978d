//! A role's groups against the host: privileged groups, existence, gid 0.

use std::path::PathBuf;
use std::time::Duration;

use elevated_proto::GroupName;

use super::{DEFAULT_TERMINATE_GRACE, MAX_TERMINATE_GRACE};
use crate::config::policy_file::{parse_policy_files, parse_policy_files_with};
use crate::policy::{OnExpiry, Policy};

/// A host with `adm` (4), `ops` (1001) and `toor` (0, root's group under
/// another name); looking up `flaky` fails.
fn host(g: &GroupName) -> Result<Option<u32>, String> {
    match g.as_str() {
        "adm" => Ok(Some(4)),
        "ops" => Ok(Some(1001)),
        "docker" => Ok(Some(998)),
        "toor" => Ok(Some(0)),
        "flaky" => Err("reading /etc/group: permission denied".into()),
        _ => Ok(None),
    }
}

fn on_host(src: &str) -> Result<Policy, Vec<String>> {
    let files = [(PathBuf::from("p.toml"), src.to_owned())];
    parse_policy_files_with(&files, Some(&host))
        .map_err(|e| e.0.iter().map(ToString::to_string).collect())
}

#[test]
fn groups_must_exist_on_the_host() {
    let src = "[roles.r]\ngroups = [\n  \"adm\",\n  \"ghost\",\n  \"flaky\",\n]\n";
    assert_eq!(
        on_host(src).unwrap_err(),
        [
            "p.toml:4: groups: group ghost does not exist on this host; create it with \
             groupadd (only local groups can be granted) or remove it from the role",
            "p.toml:5: groups: cannot look up group flaky: reading /etc/group: permission denied",
        ]
    );
    // The pure parser does not look at the host.
    let files = [(PathBuf::from("p.toml"), src.to_owned())];
    assert!(parse_policy_files(&files).is_ok());
    let p = on_host("[roles.r]\ngroups = [\"adm\", \"ops\"]\n").unwrap();
    assert_eq!(p.roles.values().next().unwrap().groups.len(), 2);
}

#[test]
fn gid_0_is_privileged_whatever_its_name() {
    assert_eq!(
        on_host("[roles.r]\n\ngroups = [\"toor\"]\n").unwrap_err(),
        [
            "p.toml:3: groups: toor is a privileged group (its gid is 0, root's group); \
          set allow_privileged_groups = true in this role to grant it anyway"
        ]
    );
    let p = on_host("[roles.r]\ngroups = [\"toor\"]\nallow_privileged_groups = true\n").unwrap();
    assert!(p.roles.values().next().unwrap().allow_privileged_groups);
}

#[test]
fn allow_privileged_groups_lets_a_role_grant_them() {
    let src =
        "[roles.containers]\ngroups = [\"docker\", \"adm\"]\nallow_privileged_groups = true\n\
               on_expiry = \"terminate\"\nterminate_grace = \"30s\"\n";
    let p = on_host(src).unwrap();
    let r = p.roles.values().next().unwrap();
    assert_eq!(
        r.groups,
        [
            GroupName::parse("docker").unwrap(),
            GroupName::parse("adm").unwrap()
        ]
    );
    assert!(r.allow_privileged_groups);
    assert_eq!(r.on_expiry, OnExpiry::Terminate);
    assert_eq!(r.terminate_grace, Duration::from_secs(30));
    // Without it, each privileged group is an error of its own; the role's
    // other errors are reported too.
    let got =
        on_host("[roles.r]\ngroups = [\"docker\", \"ghost\", \"sudo\"]\non_expiry = \"never\"\n")
            .unwrap_err();
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got[0].starts_with("p.toml:2: groups: docker is a privileged group"));
    assert!(got[1].starts_with("p.toml:2: groups: group ghost does not exist"));
    assert!(got[2].starts_with("p.toml:2: groups: sudo is a privileged group"));
    assert!(got[3].starts_with("p.toml:3: on_expiry: \"never\""));
}

#[test]
fn terminate_without_grace_uses_the_default() {
    let p = on_host("[roles.r]\ngroups = [\"ops\"]\non_expiry = \"terminate\"\n").unwrap();
    let r = p.roles.values().next().unwrap();
    assert_eq!(r.on_expiry, OnExpiry::Terminate);
    assert_eq!(r.terminate_grace, DEFAULT_TERMINATE_GRACE);
    assert_eq!(DEFAULT_TERMINATE_GRACE, Duration::from_secs(5));
    let p = on_host("[roles.r]\non_expiry = \"terminate\"\nterminate_grace = \"10m\"\n").unwrap();
    assert_eq!(
        p.roles.values().next().unwrap().terminate_grace,
        MAX_TERMINATE_GRACE
    );
}
