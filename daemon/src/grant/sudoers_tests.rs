use super::*;

fn grant(cmds: Vec<GrantCommand>) -> SudoGrant {
    SudoGrant {
        runas: UserName::parse("root").unwrap(),
        commands: cmds,
        nopasswd: true,
    }
}

fn rule<'a>(id: &'a GrantId, user: &'a UserName, g: &'a SudoGrant) -> SudoRule<'a> {
    SudoRule {
        id,
        role: "ops",
        user,
        sudo: g,
        starts_at: 1_700_000_000_000,
        expires_at: 1_700_000_120_000,
    }
}

#[test]
fn renders_notafter_runas_and_commands() {
    let id = GrantId::parse("abcd2345").unwrap();
    let user = UserName::parse("alice").unwrap();
    let g = SudoGrant {
        runas: UserName::parse("postgres").unwrap(),
        commands: vec![
            GrantCommand::Path {
                path: "/usr/bin/psql".into(),
                args: None,
            },
            GrantCommand::Path {
                path: "/usr/bin/systemctl".into(),
                args: Some(vec!["restart".into(), "a=b:c,d".into()]),
            },
            GrantCommand::Path {
                path: "/usr/bin/id".into(),
                args: Some(vec![]),
            },
        ],
        nopasswd: false,
    };
    let text = render(&rule(&id, &user, &g)).unwrap();
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        "alice ALL = (postgres) NOTAFTER=20231114221520Z PASSWD: /usr/bin/psql, \
         /usr/bin/systemctl restart a\\=b\\:c\\,d, /usr/bin/id \"\""
    );
    assert!(text.starts_with("# elevated grant abcd2345: role ops for alice\n"));
}

#[test]
fn refuses_unsafe_values_even_if_policy_let_them_through() {
    let id = GrantId::parse("abcd2345").unwrap();
    let user = UserName::parse("alice").unwrap();
    for bad in [
        GrantCommand::Path {
            path: "bin/sh".into(),
            args: None,
        },
        GrantCommand::Path {
            path: "/bin/sh, ALL".into(),
            args: None,
        },
        GrantCommand::Path {
            path: "/bin/../bin/sh".into(),
            args: None,
        },
        GrantCommand::Path {
            path: "/bin/echo".into(),
            args: Some(vec!["x\nalice ALL=(ALL) ALL".into()]),
        },
        GrantCommand::Path {
            path: "/bin/echo".into(),
            args: Some(vec!["*".into()]),
        },
        // Found by fuzzing: visudo refuses "sudoedit should not be
        // specified with a path".
        GrantCommand::Path {
            path: "/usr/bin/sudoedit".into(),
            args: Some(vec!["/etc/hosts".into()]),
        },
    ] {
        let g = grant(vec![bad.clone()]);
        assert!(render(&rule(&id, &user, &g)).is_err(), "{bad:?}");
    }
    let g = grant(vec![]);
    assert!(render(&rule(&id, &user, &g)).is_err());
}

#[test]
fn install_checks_with_visudo_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    // A fake visudo that rejects files containing "BAD".
    let fake = dir.path().join("visudo");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor last; do :; done\nif grep -q BAD \"$last\"; then echo 'syntax error' >&2; exit 1; fi\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let sd = dir.path().join("sudoers.d");
    std::fs::create_dir(&sd).unwrap();
    let d = SudoersDir::new(sd.clone(), fake);
    let id = GrantId::parse("abcd2345").unwrap();
    let user = UserName::parse("alice").unwrap();
    let g = grant(vec![GrantCommand::All]);
    let text = render(&rule(&id, &user, &g)).unwrap();
    assert_eq!(d.holds(&id, &text), Found::Missing);
    let p = d.install(&rule(&id, &user, &g)).unwrap();
    assert_eq!(p, sd.join("elevated_abcd2345"));
    assert_eq!(d.holds(&id, &text), Found::Matches);
    std::fs::write(&p, format!("{text}# changed\n")).unwrap();
    assert_eq!(d.holds(&id, &text), Found::Altered);
    d.install(&rule(&id, &user, &g)).unwrap();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o440);
    assert_eq!(
        d.list().unwrap(),
        vec![DropIn {
            name: "elevated_abcd2345".into(),
            id: Some(id.clone())
        }]
    );
    assert!(d.remove(&id).unwrap());
    assert!(!d.remove(&id).unwrap());
    assert!(d.list().unwrap().is_empty());
    // The expiry path removes the same file (without the directory sync).
    d.install(&rule(&id, &user, &g)).unwrap();
    assert!(d.remove_expired(&id).unwrap());
    assert!(!d.remove_expired(&id).unwrap());
    assert!(!p.exists());

    // A user named BADuser makes the fake visudo fail: nothing is installed.
    let bad_user = UserName::parse("BADuser").unwrap();
    let err = d.install(&rule(&id, &bad_user, &g)).unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
    assert!(d.list().unwrap().is_empty());
}

#[test]
fn refuses_a_window_end_before_1970() {
    // Found by fuzzing: NOTAFTER=19691231235959Z is "invalid notafter
    // value" to visudo.
    let id = GrantId::parse("abcd2345").unwrap();
    let user = UserName::parse("alice").unwrap();
    let g = grant(vec![GrantCommand::All]);
    let mut r = rule(&id, &user, &g);
    for bad in [-1, -1000, i64::MIN] {
        r.expires_at = bad;
        let err = render(&r).unwrap_err();
        assert!(matches!(err, GrantError::Unsafe(_)), "{bad}: {err}");
    }
    r.expires_at = 0;
    assert!(render(&r)
        .unwrap()
        .contains("NOTAFTER=19700101000000Z NOPASSWD: ALL\n"));
}

#[test]
fn a_hung_visudo_is_killed_and_nothing_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("visudo");
    std::fs::write(&fake, "#!/bin/sh\nsleep 300\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let sd = dir.path().join("sudoers.d");
    std::fs::create_dir(&sd).unwrap();
    let d = SudoersDir::new(sd.clone(), fake.clone()).with_timeout(Duration::from_millis(300));
    let id = GrantId::parse("abcd2345").unwrap();
    let user = UserName::parse("alice").unwrap();
    let g = grant(vec![GrantCommand::All]);
    // On a thread, so that an unbounded visudo fails the test instead of
    // hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(d.install(&rule(&id, &user, &g)).map(|_| ()));
    });
    let err = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("install did not return: visudo ran without a time limit")
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{} did not finish within 300ms", fake.display())),
        "{msg}"
    );
    assert_eq!(
        std::fs::read_dir(&sd).unwrap().count(),
        0,
        "a file was left"
    );
}
