use std::path::Path;

use super::*;
use crate::config::Settings;

fn parse(src: &str) -> Result<NotifySettings, String> {
    Settings::parse(Path::new("/etc/elevated/elevated.toml"), src)
        .map(|s| s.notify)
        .map_err(|e| e.to_string())
}

const FULL: &str = r#"
[notify]
queue   = 50
retries = 2
backoff = "2s"

[[notify.webhook]]
url     = "https://hooks.slack.com/services/T0/B0/secret"
format  = "slack"
events  = ["request_created", "approved", "denied", "expired", "break_glass"]
timeout = "3s"
headers = { Authorization = "Bearer x" }

[[notify.webhook]]
url = "http://127.0.0.1:8080/hook"

[[notify.command]]
command = "/usr/local/sbin/page-oncall"
args    = ["--team", "infra"]
events  = ["break_glass"]
timeout = "10s"
"#;

#[test]
fn the_documented_example_parses() {
    let n = parse(FULL).unwrap();
    assert_eq!(
        (n.queue, n.retries, n.backoff),
        (50, 2, Duration::from_secs(2))
    );
    let slack = &n.webhook[0];
    assert_eq!(slack.format, WebhookFormat::Slack);
    assert_eq!(slack.events.len(), 5);
    assert!(!slack.events.contains(&EventKind::ExpiryWarning));
    assert_eq!(slack.timeout, Duration::from_secs(3));
    assert_eq!(slack.headers["Authorization"], "Bearer x");
    let plain = &n.webhook[1];
    assert_eq!(plain.format, WebhookFormat::Json);
    assert_eq!(plain.events, EventKind::ALL.to_vec());
    assert_eq!(plain.timeout, Duration::from_secs(5));
    assert!(plain.headers.is_empty());
    let cmd = &n.command[0];
    assert_eq!(cmd.command, PathBuf::from("/usr/local/sbin/page-oncall"));
    assert_eq!(cmd.args, ["--team", "infra"]);
    assert_eq!(cmd.events, [EventKind::BreakGlass]);
    n.validate().unwrap();
}

#[test]
fn defaults_without_a_notify_table() {
    let n = parse("").unwrap();
    assert_eq!(n, NotifySettings::default());
    assert_eq!(
        (n.queue, n.retries, n.backoff),
        (1000, 3, Duration::from_secs(1))
    );
    assert!(n.is_empty());
    let n = parse("[[notify.command]]\ncommand = \"/bin/true\"\n").unwrap();
    assert_eq!(n.command[0].timeout, Duration::from_secs(10));
    assert_eq!(n.command[0].events, EventKind::ALL.to_vec());
}

fn err(src: &str) -> String {
    parse(src).unwrap_err()
}

#[test]
fn bad_values_name_the_line_and_the_fix() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[notify]\n\n[[notify.webhook]]\nurl = \"ftp://x.example/h\"\n",
            ":4:",
            "http:// or https://",
        ),
        (
            "[[notify.webhook]]\nurl = \"hooks.slack.com/x\"\n",
            ":2:",
            "http:// or https://",
        ),
        ("[[notify.webhook]]\nurl = \"https://\"\n", ":2:", "URL"),
        (
            "[[notify.webhook]]\nurl = \"https://x\"\nformat = \"discord\"\n",
            ":3:",
            "unknown variant `discord`",
        ),
        (
            "[[notify.webhook]]\nurl = \"https://x\"\nevents = [\"aproved\"]\n",
            ":3:",
            "expected one of `request_created`",
        ),
        (
            "[[notify.webhook]]\nurl = \"https://x\"\nevents = []\n",
            ":3:",
            "events is empty",
        ),
        (
            "[[notify.webhook]]\nurl = \"https://x\"\nfromat = \"slack\"\n",
            ":3:",
            "unknown field `fromat`",
        ),
        (
            "[[notify.webhook]]\nurl = \"https://x\"\ntimeout = \"fast\"\n",
            ":3:",
            "bad duration",
        ),
        (
            "[[notify.webhook]]\nurl = \"https://x\"\nheaders = { \"Bad Name\" = \"x\" }\n",
            ":3:",
            "not a valid HTTP header name",
        ),
        (
            "[[notify.webhook]]\nurl = \"https://x\"\nheaders = { X-A = \"a\\nb\" }\n",
            ":3:",
            "line break",
        ),
        (
            "[[notify.webhook]]\nurl = \"https://x\"\nheaders = { Host = \"y\" }\n",
            ":3:",
            "set by the daemon",
        ),
        (
            "[[notify.webhook]]\nformat = \"slack\"\n",
            ":1:",
            "missing field `url`",
        ),
        (
            "[[notify.command]]\ncommand = \"page-oncall\"\n",
            ":2:",
            "absolute path",
        ),
        (
            "[[notify.command]]\ncommand = \"/bin/true\"\nshell = true\n",
            ":3:",
            "unknown field `shell`",
        ),
        ("[notify]\nqueue = 0\n", ":2:", "give 1 to 100000"),
        ("[notify]\nretries = 99\n", ":2:", "give 0 to 20"),
        (
            "[notify]\nbackoff = \"0s\"\n",
            ":2:",
            "shorter than one second",
        ),
        (
            "[notify]\nwebhooks = []\n",
            ":2:",
            "unknown field `webhooks`",
        ),
    ];
    for (src, line, needle) in cases {
        let e = err(src);
        assert!(e.starts_with("/etc/elevated/elevated.toml"), "{e}");
        assert!(
            e.contains(line),
            "expected line {line} in {e:?} for {src:?}"
        );
        assert!(
            e.contains(needle),
            "expected {needle:?} in {e:?} for {src:?}"
        );
    }
}

#[test]
fn validate_checks_settings_built_in_code() {
    let mut n = NotifySettings {
        queue: 0,
        ..NotifySettings::default()
    };
    n.webhook.push(WebhookSettings {
        url: "gopher://x".into(),
        format: WebhookFormat::Json,
        events: vec![],
        timeout: Duration::ZERO,
        headers: BTreeMap::new(),
    });
    n.command.push(CommandSettings {
        command: "hook.sh".into(),
        args: vec![],
        events: vec![EventKind::Denied],
        timeout: Duration::from_secs(1),
    });
    let NotifyError::Invalid(errs) = n.validate().unwrap_err() else {
        panic!("not Invalid")
    };
    assert_eq!(errs.len(), 5, "{errs:?}");
    assert!(errs[0].contains("queue"));
    assert!(errs[1].starts_with("webhook 1: webhook url must start with http://"));
    assert!(errs
        .iter()
        .any(|e| e.starts_with("webhook 1: events is empty")));
    assert!(errs.iter().any(|e| e.starts_with("webhook 1: timeout")));
    assert!(errs[4].starts_with("command 1: command \"hook.sh\" must be an absolute path"));
    let shown = NotifyError::Invalid(errs).to_string();
    assert!(shown.starts_with("invalid [notify] settings: "), "{shown}");
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let n = parse(FULL).unwrap();
    let shown = format!("{n:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(!shown.contains("Bearer"), "{shown}");
    assert!(shown.contains("https://hooks.slack.com"), "{shown}");
    assert!(shown.contains("Authorization"), "{shown}");
    assert_eq!(
        url_origin("https://u:p@h.example:8443/a?b"),
        "https://h.example:8443"
    );
    assert_eq!(url_origin("not a url"), "<invalid url>");
}

#[test]
fn duplicate_events_collapse() {
    let n = parse("[[notify.webhook]]\nurl = \"https://x\"\nevents = [\"denied\", \"approved\", \"denied\"]\n").unwrap();
    assert_eq!(
        n.webhook[0].events,
        [EventKind::Approved, EventKind::Denied]
    );
}
