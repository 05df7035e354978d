use super::*;
use crate::grant::test_host::{getent, root_lock, TestGroup, TestUser};

const GROUP_FILE: &str = "\
root:x:0:
# a comment
adm:x:4:syslog,alice
+nisgroup::::
sudo:x:27:
broken:x:notanumber:alice
ops:x:1001: alice , bob ,
ops:x:1002:carol
";

#[test]
fn parses_group_lines() {
    assert_eq!(
        find_group(GROUP_FILE, "adm"),
        Some(GroupEntry {
            name: "adm".into(),
            gid: 4,
            members: vec!["syslog".into(), "alice".into()],
        })
    );
    assert_eq!(
        find_group(GROUP_FILE, "sudo").unwrap().members,
        Vec::<String>::new()
    );
    // Spaces and a trailing comma are tolerated; the first entry wins.
    let ops = find_group(GROUP_FILE, "ops").unwrap();
    assert_eq!(
        (ops.gid, ops.members),
        (1001, vec!["alice".into(), "bob".into()])
    );
    assert_eq!(find_group(GROUP_FILE, "broken"), None);
    assert_eq!(find_group(GROUP_FILE, "+nisgroup"), None);
    assert_eq!(find_group(GROUP_FILE, "nope"), None);
    assert_eq!(parse_group_line("# x:x:1:"), None);
    assert_eq!(parse_group_line("short:x:1"), None);
}

#[test]
fn membership_is_read_from_the_group_file() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("group");
    fs::write(&file, GROUP_FILE).unwrap();
    let g = Groups::new(PathBuf::from("/nonexistent/gpasswd"), file);
    let alice = UserName::parse("alice").unwrap();
    let adm = GroupName::parse("adm").unwrap();
    assert!(g.is_member(&alice, &adm).unwrap());
    assert!(!g
        .is_member(&alice, &GroupName::parse("sudo").unwrap())
        .unwrap());
    assert!(!g
        .is_member(&alice, &GroupName::parse("nope").unwrap())
        .unwrap());
    assert!(g.exists(&adm));
    assert!(!g.exists(&GroupName::parse("nope").unwrap()));
    assert_eq!(g.gid(&adm).unwrap(), Some(4));
    // Already a member: gpasswd is not even run.
    assert_eq!(g.add(&alice, &adm).unwrap(), Added::AlreadyMember);
    // Not a member: remove has nothing to do, and runs nothing.
    assert!(!g
        .remove(&alice, &GroupName::parse("sudo").unwrap())
        .unwrap());
}

#[test]
fn a_gpasswd_that_cannot_run_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("group");
    fs::write(&file, GROUP_FILE).unwrap();
    let g = Groups::new(PathBuf::from("/nonexistent/gpasswd"), file);
    let e = g
        .add(
            &UserName::parse("bob").unwrap(),
            &GroupName::parse("adm").unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/nonexistent/gpasswd -a bob -- adm failed: cannot start"),
        "{e}"
    );
    let missing = Groups::new(PathBuf::from("/bin/true"), d.path().join("nope"));
    let e = missing
        .is_member(
            &UserName::parse("bob").unwrap(),
            &GroupName::parse("adm").unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("reading ") && e.contains("nope"), "{e}");
}

#[test]
fn a_gpasswd_that_lies_is_caught_by_the_check_afterwards() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("group");
    fs::write(&file, GROUP_FILE).unwrap();
    // `true` exits 0 but changes nothing.
    let g = Groups::new(PathBuf::from("/bin/true"), file);
    let e = g
        .add(
            &UserName::parse("bob").unwrap(),
            &GroupName::parse("adm").unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("it succeeded but") && e.contains("does not list bob in adm"),
        "{e}"
    );
}

fn members(group: &TestGroup) -> Vec<String> {
    let f = getent("group", &group.name);
    f[3].split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Root: the real gpasswd on the real /etc/group.
#[test]
fn root_add_and_remove_with_real_gpasswd() {
    let _lock = root_lock();
    let group = TestGroup::new("g");
    let user = TestUser::new("u", &[]);
    let g = Groups::default();
    let (u, gn) = (user.user_name(), group.group_name());

    assert!(!g.is_member(&u, &gn).unwrap());
    assert_eq!(g.gid(&gn).unwrap(), Some(group.gid));
    assert_eq!(getent("passwd", &user.name)[2], user.uid.to_string());
    assert_eq!(g.add(&u, &gn).unwrap(), Added::Now);
    assert!(g.is_member(&u, &gn).unwrap());
    assert!(user.id_groups().contains(&group.name));
    assert_eq!(members(&group), [user.name.as_str()]);

    assert!(g.remove(&u, &gn).unwrap());
    assert!(!g.is_member(&u, &gn).unwrap());
    assert!(!user.id_groups().contains(&group.name));
    assert!(members(&group).is_empty());
    // Removing again: not a member, no error.
    assert!(!g.remove(&u, &gn).unwrap());
}

/// Root: a membership the user had before is reported, and stays.
#[test]
fn root_an_existing_membership_is_already_member_and_survives() {
    let _lock = root_lock();
    let group = TestGroup::new("g");
    let user = TestUser::new("u", &[&group]);
    let g = Groups::default();
    let (u, gn) = (user.user_name(), group.group_name());
    assert_eq!(g.add(&u, &gn).unwrap(), Added::AlreadyMember);
    // The caller skips `remove` for AlreadyMember: the membership is as
    // it was, listed once.
    assert_eq!(members(&group), [user.name.as_str()]);
    assert!(user.id_groups().contains(&group.name));

    // The user's primary group counts as a membership too.
    let own = GroupName::parse(&user.name).unwrap();
    assert_eq!(g.gid(&own).unwrap(), Some(user.gid));
    assert_eq!(g.add(&u, &own).unwrap(), Added::AlreadyMember);
    assert!(!g.is_member(&u, &own).unwrap());
    assert!(!g.remove(&u, &own).unwrap());
    assert_eq!(getent("group", &user.name)[3], "");
}

/// Root: gpasswd's own errors come back whole.
#[test]
fn root_gpasswd_errors_are_returned() {
    let _lock = root_lock();
    let group = TestGroup::new("g");
    let g = Groups::default();
    let ghost = UserName::parse("elvtnosuchuser").unwrap();
    let e = g.add(&ghost, &group.group_name()).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "gpasswd -a elvtnosuchuser -- {} failed",
            group.name
        )) && e.contains("user 'elvtnosuchuser' does not exist")
            && e.contains("exit status: 3"),
        "{e}"
    );
    let user = TestUser::new("u", &[]);
    let e = g
        .add(
            &user.user_name(),
            &GroupName::parse("elvtnosuchgroup").unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("group 'elvtnosuchgroup' does not exist"), "{e}");
}

#[test]
fn a_hung_gpasswd_is_killed_and_reported() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("group");
    fs::write(&file, GROUP_FILE).unwrap();
    let fake = d.path().join("gpasswd");
    fs::write(&fake, "#!/bin/sh\nsleep 300\n").unwrap();
    fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let g = Groups::new(fake.clone(), file).with_timeout(Duration::from_millis(300));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let user = UserName::parse("bob").unwrap();
        let added = g.add(&user, &GroupName::parse("adm").unwrap()).map(|_| ());
        let removed = g.remove(
            &UserName::parse("alice").unwrap(),
            &GroupName::parse("adm").unwrap(),
        );
        let _ = tx.send((added, removed));
    });
    let (added, removed) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("gpasswd ran without a time limit");
    let shown = fake.display();
    let added = added.unwrap_err().to_string();
    assert!(
        added.starts_with(&format!(
            "{shown} -a bob -- adm failed: {shown} did not finish within 300ms"
        )),
        "{added}"
    );
    // Right after, gpasswd is not even started: the removal fails at once
    // (and stays owed) instead of waiting out another timeout.
    let removed = removed.unwrap_err().to_string();
    assert!(
        removed.contains(&format!(
            "{shown} was not started: it overstayed its timeout of 300ms"
        )),
        "{removed}"
    );
}
