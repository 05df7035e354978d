//! Settings: defaults, overrides and every error at once.

use super::*;

#[test]
fn empty_file_gives_defaults() {
    let s = Settings::parse(Path::new("x.toml"), "").unwrap();
    assert_eq!(
        s.daemon.socket,
        PathBuf::from("/run/elevated/elevated.sock")
    );
    assert_eq!(s.daemon.sudoers_dir, PathBuf::from("/etc/sudoers.d"));
    assert_eq!(s.requests.max_duration, Duration::from_secs(43200));
    assert_eq!(s.limits.reauth_failures_per_user, 5);
    let zero = "[limits]\nreauth_failures_per_request = 0\n";
    let e = Settings::parse(Path::new("x.toml"), zero).unwrap_err();
    assert!(e.to_string().contains("reauth_failures_per_request"), "{e}");
    assert_eq!(s.limits.requests_per_minute, 120);
    assert_eq!(s.limits.refusals_per_minute, 10);
    let zero = "[limits]\nrequests_per_minute = 0\n";
    let e = Settings::parse(Path::new("x.toml"), zero).unwrap_err();
    assert!(e.to_string().contains("requests_per_minute"), "{e}");
    let small = "[limits]\nrequest_bytes_per_minute = 1000\n";
    let e = Settings::parse(Path::new("x.toml"), small).unwrap_err();
    assert!(e.to_string().contains("request_bytes_per_minute"), "{e}");
}

#[test]
fn overrides_and_tags() {
    let s = Settings::parse(
        Path::new("x.toml"),
        "[daemon]\nsocket = \"/tmp/x.sock\"\nreconcile_interval = \"5s\"\n[host]\nname = \"web1\"\ntags = { env = \"prod\", zone = [\"a\", \"b\"] }\n",
    )
    .unwrap();
    assert_eq!(s.daemon.reconcile_interval, Duration::from_secs(5));
    assert_eq!(s.daemon.command_timeout, Duration::from_secs(10));
    let short =
        Settings::parse(Path::new("x.toml"), "[daemon]\ncommand_timeout = \"3s\"\n").unwrap();
    assert_eq!(short.daemon.command_timeout, Duration::from_secs(3));
    let tags = s.host.tag_lists();
    assert_eq!(tags["env"], vec!["prod"]);
    assert_eq!(tags["zone"], vec!["a", "b"]);
}

#[test]
fn errors_name_the_line() {
    let e = Settings::parse(Path::new("/e/x.toml"), "[daemon]\n\nsockt = \"/x\"\n").unwrap_err();
    assert!(e.to_string().starts_with("/e/x.toml:3:"), "{e}");
    let e =
        Settings::parse(Path::new("x.toml"), "[limits]\nframe_timeout = \"soon\"\n").unwrap_err();
    assert!(e.to_string().contains("x.toml:2:"), "{e}");
    let e = Settings::parse(Path::new("x.toml"), "[daemon]\nsocket = \"rel.sock\"\n").unwrap_err();
    assert!(e.to_string().contains("absolute"), "{e}");
    // Every problem at once, like `visudo -c`: an unknown key does not
    // hide the others.
    let src = "[daemon]\nsockt = \"/x\"\nsocket = \"rel.sock\"\n[limits]\nframe_timeout = \"soon\"\n[nope]\n";
    let e = Settings::parse(Path::new("x.toml"), src).unwrap_err();
    let shown: Vec<String> = e.0.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 4, "{shown:#?}");
    assert!(
        shown[0].starts_with("x.toml:2: unknown field `sockt`"),
        "{shown:#?}"
    );
    assert!(shown[1].starts_with("x.toml:5: "), "{shown:#?}");
    assert!(
        shown[2].starts_with("x.toml:6: unknown field `nope`"),
        "{shown:#?}"
    );
    assert_eq!(
        shown[3],
        "x.toml: [daemon] socket must be an absolute path, not rel.sock"
    );
    // Found by fuzzing: the TOML parser gives no message for this.
    let e = Settings::parse(Path::new("x.toml"), "[daemon]\nsocket =").unwrap_err();
    assert_eq!(
        e.to_string(),
        "x.toml:2: the file ends where a value is expected"
    );
}
