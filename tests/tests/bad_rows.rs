//! One bad row in the store never keeps the daemon from starting, nor
//! from ending every other grant (DESIGN.md, rule 8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use elevated_testkit::output::json;
use elevated_testkit::poll;
use elevated_tests::daemon::text;
use elevated_tests::{require_root, Daemon, TestUser};

/// A bound against hanging, not a speed requirement.
const LIMIT: Duration = Duration::from_secs(30);

fn grant(d: &Daemon, user: &TestUser, secs: &str) -> String {
    let out = d.elevate(Some(user), &["--json", "request", "auto", "--for", secs]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    json(&out)["id"].as_str().unwrap().to_owned()
}

#[test]
fn malformed_rows_are_reported_and_everything_else_is_reconciled() {
    require_root();
    let user = TestUser::new("br", &[]);
    // One grant of a role per account: the three grants are three users'.
    let (user2, user3) = (TestUser::new("bs", &[]), TestUser::new("bt", &[]));
    let mut d = Daemon::new("");
    let cfg = std::fs::read_to_string(&d.config).unwrap().replacen(
        "[daemon]\n",
        "[daemon]\nreconcile_interval = \"1s\"\n",
        1,
    );
    d.file("elevated.toml", &cfg, 0o644);
    d.policy(
        "10-auto.toml",
        &format!(
            "[roles.auto]\nsudo = {{ commands = [\"/usr/bin/true\"] }}\n\n\
             [[rules]]\nrole = \"auto\"\nwho = {{ users = [\"{}\", \"{}\", \"{}\"] }}\n",
            user.name, user2.name, user3.name
        ),
    );
    d.start();
    let broken = grant(&d, &user, "10m");
    let short = grant(&d, &user2, "3s");
    let strange = grant(&d, &user3, "10m");
    d.stop();
    {
        let db = d.db();
        // JSON that does not parse in an active grant, and a state that is
        // none of the contract's names.
        db.execute(
            "UPDATE requests SET grant_spec = '{\"sudo\": [' WHERE id = ?1",
            [&broken],
        )
        .unwrap();
        db.execute(
            "UPDATE requests SET state = 'exploded' WHERE id = ?1",
            [&strange],
        )
        .unwrap();
    }
    assert_eq!(d.dropins().len(), 3);

    d.start();
    // The other grant still ends on time.
    poll::wait_until("the short grant to expire", LIMIT, || {
        json(&d.elevate(None, &["--json", "show", &short]))["state"] == "expired"
    });
    // Nothing readable owns the broken rows' drop-ins any more: taking a
    // privilege away never waits for a row to be repaired. (The store
    // records an end before the file goes, and `show` reads without
    // waiting for the rest of the transition: wait for the files too.)
    poll::wait_until("the drop-ins to go", LIMIT, || d.dropins().is_empty());
    assert_eq!(d.dropins(), Vec::<String>::new());
    let audit = json(&d.elevate(None, &["--json", "audit"]));
    let rows = audit["rows"].as_array().unwrap();
    for (id, what) in [(&broken, "grant_spec"), (&strange, "exploded")] {
        let reported: Vec<_> = rows
            .iter()
            .filter(|r| r["event"] == "reconcile_bad_row" && r["detail"]["id"] == id.as_str())
            .collect();
        assert_eq!(reported.len(), 1, "audited once: {audit}");
        assert!(
            reported[0]["detail"]["error"]
                .as_str()
                .unwrap()
                .contains(what),
            "{audit}"
        );
    }
    assert!(d.log_text().contains("cannot be read"), "{}", d.log_text());

    // Clients are served: listings skip the bad rows, requests work.
    let status = d.elevate(Some(&user), &["--json", "status"]);
    assert_eq!(status.status.code(), Some(0), "{:?}", text(&status));
    let list = d.elevate(None, &["--json", "list", "--all"]);
    assert_eq!(list.status.code(), Some(0), "{:?}", text(&list));
    let again = grant(&d, &user, "10m");
    assert_eq!(d.dropins(), vec![format!("elevated_{again}")]);
    let verify = d.elevate(None, &["audit", "--verify"]);
    assert_eq!(verify.status.code(), Some(0), "{:?}", text(&verify));
}
