use super::*;
use crate::policy::format_days;

fn path(p: &str, args: Option<&[&str]>) -> Command {
    Command::Path {
        path: p.to_owned(),
        args: args.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
    }
}

#[test]
fn durations() {
    for (s, secs) in [
        ("90s", 90),
        ("30m", 1800),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("2d", 172_800),
        ("1s", 1),
    ] {
        assert_eq!(duration(s).unwrap(), Duration::from_secs(secs), "{s}");
    }
    for s in [
        "", "0s", "500ms", "1.5s", "1500ms", "abc", "30", "-1h", "400days", "1h30",
    ] {
        assert!(duration(s).is_err(), "{s:?}");
    }
    assert_eq!(show(Duration::from_secs(5400)), "1h30m");
}

#[test]
fn commands() {
    let ok: &[(&str, Command)] = &[
        ("/usr/bin/psql", path("/usr/bin/psql", None)),
        (
            "/usr/bin/systemctl restart nginx",
            path("/usr/bin/systemctl", Some(&["restart", "nginx"])),
        ),
        (
            "/usr/bin/systemctl\trestart   nginx.service",
            path("/usr/bin/systemctl", Some(&["restart", "nginx.service"])),
        ),
        ("/usr/bin/uptime \"\"", path("/usr/bin/uptime", Some(&[]))),
        (
            "/usr/sbin/x --user=a@b:c,d%e +f",
            path("/usr/sbin/x", Some(&["--user=a@b:c,d%e", "+f"])),
        ),
        (
            "/opt/g++-12/bin/x_y.sh",
            path("/opt/g++-12/bin/x_y.sh", None),
        ),
    ];
    for (s, want) in ok {
        assert_eq!(&command(s).unwrap(), want, "{s}");
    }
    for s in [
        "psql",
        "ALL ",
        "all",
        " /usr/bin/x",
        "/usr/bin/",
        "/",
        "/usr//bin/x",
        "/usr/./bin/x",
        "/usr/../bin/x",
        "/usr/bin/..",
        "/usr/bin/x*",
        "/usr/bin/x?",
        "/usr/bin/[x]",
        "/usr/bin/x a*",
        "/usr/bin/x a?",
        "/usr/bin/x [a]",
        "/usr/bin/x 'a'",
        "/usr/bin/x \"a\"",
        "/usr/bin/x a\\b",
        "/usr/bin/x !a",
        "/usr/bin/x #a",
        "/usr/bin/x (a)",
        "/usr/bin/x a\nb",
        "/usr/bin/x \"\" a",
        "/usr/bin/x a \"\"",
        "/usr/bin/x\nb",
        "/usr/bin/a,b",
        "/usr/bin/a:b",
        "/usr/bin/a=b",
        "/usr/bin/ä",
    ] {
        assert!(command(s).is_err(), "{s:?}");
    }
}

#[test]
fn day_masks() {
    for (s, mask) in [
        ("mon", 0b000_0001),
        ("SUN", 0b100_0000),
        ("Mon-Fri", 0b001_1111),
        ("fri-mon", 0b111_0001),
        ("sat-sun", 0b110_0000),
        ("wed-wed", 0b000_0100),
        ("sun-sat", 0b111_1111),
    ] {
        assert_eq!(days(s).unwrap(), mask, "{s}");
    }
    for s in ["", "mo", "monday", "mon-", "-fri", "mon-fri-sat", "1"] {
        assert!(days(s).is_err(), "{s:?}");
    }
    assert_eq!(format_days(0b101_1111), "mon-fri,sun");
    assert_eq!(format_days(0b111_0001), "mon,fri-sun");
    assert_eq!(format_days(0b000_0100), "wed");
}

#[test]
fn hour_ranges() {
    for (s, start, end) in [
        ("08:00-18:00", 480, 1080),
        ("8:30-9:00", 510, 540),
        ("22:00-06:00", 1320, 360),
        ("00:00-24:00", 0, 1440),
        ("18:00-24:00", 1080, 1440),
        ("23:59-00:00", 1439, 0),
    ] {
        let r = hours(s).unwrap();
        assert_eq!((r.start, r.end), (start, end), "{s}");
    }
    for s in [
        "",
        "08:00",
        "8-18",
        "08:00-08:00",
        "24:00-06:00",
        "08:60-09:00",
        "08:00-25:00",
        "08:00-24:01",
        "008:00-09:00",
        "08:0-09:00",
        "a:00-b:00",
        "08:00-18:00-19:00",
    ] {
        assert!(hours(s).is_err(), "{s:?}");
    }
    let night = HourRange {
        start: 1320,
        end: 360,
    };
    assert_eq!(night.to_string(), "22:00-06:00");
    let day = HourRange {
        start: 0,
        end: 1440,
    };
    assert_eq!(day.to_string(), "00:00-24:00");
}

#[test]
fn zones_globs_principals() {
    assert!(time_zone("UTC").is_ok());
    assert!(time_zone("Europe/Berlin").is_ok());
    assert!(time_zone("America/New_York").is_ok());
    assert!(time_zone("Mars/Olympus").is_err());
    for ok in ["web-*", "db?", "*.example.com", "WEB1"] {
        assert!(host_glob(ok).is_ok(), "{ok}");
    }
    for bad in ["", "web_1", "web[1]", "a b", "a,b"] {
        assert!(host_glob(bad).is_err(), "{bad:?}");
    }
    assert!(principal("carol@corp").is_ok());
    for bad in ["", "a b", "a\tb", "a\u{7}"] {
        assert!(principal(bad).is_err(), "{bad:?}");
    }
}
