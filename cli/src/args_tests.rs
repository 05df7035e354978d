use super::*;
use clap::CommandFactory;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(args)
}

#[test]
fn definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn request_parses_duration() {
    let cli = parse(&["elevate", "request", "db-admin", "--for", "1h30m"]).unwrap();
    let Command::Request(r) = cli.command else {
        panic!("not a request")
    };
    assert_eq!(r.options.duration, Some(5400));
    assert_eq!(r.role.as_str(), "db-admin");
    assert!(parse(&["elevate", "request", "db-admin", "--for", "soon"]).is_err());
    assert!(parse(&["elevate", "request", "db-admin", "--for", "0s"]).is_err());
    assert!(parse(&["elevate", "request", "ALL"]).is_err());
}

#[test]
fn run_keeps_command_arguments() {
    let cli = parse(&[
        "elevate", "--json", "run", "--role", "ops", "--", "ls", "-l", "--json",
    ])
    .unwrap();
    assert!(cli.json);
    let Command::Run(r) = cli.command else {
        panic!("not run")
    };
    assert_eq!(r.command, ["ls", "-l", "--json"]);
    assert!(parse(&["elevate", "run"]).is_err());
}

#[test]
fn decisions_and_extensions() {
    let cli = parse(&["elevate", "deny", "k3f9x2ma", "--signature", "a.sig"]).unwrap();
    let Command::Deny(d) = cli.command else {
        panic!("not deny")
    };
    assert_eq!(d.signature.as_deref(), Some(std::path::Path::new("a.sig")));
    assert!(parse(&["elevate", "extend", "k3f9x2ma"]).is_err());
    let cli = parse(&["elevate", "extend", "k3f9x2ma", "--for", "1h"]).unwrap();
    let Command::Extend(e) = cli.command else {
        panic!("not extend")
    };
    assert_eq!(e.duration, 3600);
    assert!(parse(&[
        "elevate",
        "show",
        "k3f9x2ma",
        "--approval-text",
        "--denial-text"
    ])
    .is_err());
    assert!(parse(&["elevate", "list", "--pending", "--unreviewed"]).is_err());
}

#[test]
fn audit_limit_is_refused_above_the_cap() {
    let limit = |n: &str| match parse(&["elevate", "audit", "--limit", n]).map(|c| c.command) {
        Ok(Command::Audit(a)) => Ok(a.limit),
        Ok(_) => panic!("not audit"),
        Err(e) => Err(e.to_string()),
    };
    assert_eq!(limit("10000"), Ok(Some(10_000)));
    assert_eq!(limit("1"), Ok(Some(1)));
    for n in ["10001", "0", "many"] {
        assert!(limit(n).is_err(), "{n}");
    }
    assert!(limit("10001").unwrap_err().contains("from 1 to 10000 rows"));
}

#[test]
fn packaging_helpers_are_hidden() {
    let cli = parse(&["elevate", "completions", "fish"]).unwrap();
    assert!(matches!(cli.command, Command::Completions { .. }));
    assert!(matches!(
        parse(&["elevate", "man"]).unwrap().command,
        Command::Man
    ));
    let help = Cli::command().render_help().to_string();
    let listed = |name: &str| help.lines().any(|l| l.trim_start().starts_with(name));
    assert!(!listed("completions ") && !listed("man "), "{help}");
}

#[test]
fn an_empty_socket_variable_means_the_default() {
    use std::ffi::OsStr;
    use std::path::Path;
    let default = PathBuf::from(DEFAULT_SOCKET);
    assert_eq!(socket_from(None, None), default);
    assert_eq!(socket_from(None, Some(OsStr::new(""))), default);
    assert_eq!(socket_from(None, Some(OsStr::new("/s"))), Path::new("/s"));
    let given = Some(Path::new("/o"));
    assert_eq!(socket_from(given, Some(OsStr::new("/s"))), Path::new("/o"));
    assert_eq!(socket_from(given, Some(OsStr::new(""))), Path::new("/o"));
}

#[test]
fn json_is_seen_before_double_dash_only() {
    let v = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
    assert!(wants_json(&v(&["elevate", "request", "--json", "x"])));
    assert!(!wants_json(&v(&["elevate", "run", "--", "x", "--json"])));
    assert!(!wants_json(&v(&["--json"])));
}
