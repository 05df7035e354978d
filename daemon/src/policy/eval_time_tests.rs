//! Time windows: hours, days, midnight, time zones and DST.

use super::*;

#[test]
fn when_selectors() {
    const OFFICE: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { hours = \"08:00-18:00\" }\n";
    const FRI_NIGHT: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { days = [\"fri\"], hours = \"22:00-06:00\" }\n";
    const WEEKDAYS: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { days = \"mon-fri\" }\n";
    const LONG_WEEKEND: &str =
        "[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { days = [\"fri-mon\"] }\n";
    const BERLIN: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { hours = \"09:00-17:00\", tz = \"Europe/Berlin\" }\n";
    const NEW_YORK: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { days = \"mon-fri\", hours = \"09:00-17:00\", tz = \"America/New_York\" }\n";
    const AUCKLAND: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { days = \"sat\", tz = \"Pacific/Auckland\" }\n";
    const TWO: &str = "[roles.r]\n[[rules]]\nrole = \"r\"\nwhen = { hours = [\"00:00-01:00\", \"23:00-24:00\"] }\n";
    const OK: Want = Want::Allow("a.toml rule 1 (line 2)", 60, false);
    run(&[
        case!("inside hours", &[("a.toml", OFFICE)], "ferris", "web1", at "2024-06-05T08:00:00Z", OK),
        case!("last minute inside", &[("a.toml", OFFICE)], "ferris", "web1", at "2024-06-05T17:59:59Z", OK),
        case!("end is outside", &[("a.toml", OFFICE)], "ferris", "web1", at "2024-06-05T18:00:00Z",
            Want::Deny(None, "no rule allows role r for ferris on web1 at 2024-06-05T18:00:00Z: a.toml rule 1 (line 2): outside hours 08:00-18:00 UTC (there it is wed 18:00)")),
        case!("before start", &[("a.toml", OFFICE)], "ferris", "web1", at "2024-06-05T07:59:00Z", Want::Deny(None, "outside hours 08:00-18:00 UTC")),
        case!("friday night, saturday 02:00", &[("a.toml", FRI_NIGHT)], "ferris", "web1", at "2024-06-08T02:00:00Z", OK),
        case!("friday night, friday 23:00", &[("a.toml", FRI_NIGHT)], "ferris", "web1", at "2024-06-07T23:00:00Z", OK),
        case!("friday night, friday 02:00", &[("a.toml", FRI_NIGHT)], "ferris", "web1", at "2024-06-07T02:00:00Z",
            Want::Deny(None, "outside days fri, hours 22:00-06:00 UTC (there it is fri 02:00)")),
        case!("friday night, saturday 23:00", &[("a.toml", FRI_NIGHT)], "ferris", "web1", at "2024-06-08T23:00:00Z", Want::Deny(None, "outside days fri")),
        case!("friday night, saturday 06:00", &[("a.toml", FRI_NIGHT)], "ferris", "web1", at "2024-06-08T06:00:00Z", Want::Deny(None, "outside days fri")),
        case!("weekday", &[("a.toml", WEEKDAYS)], "ferris", "web1", OK),
        case!("weekend", &[("a.toml", WEEKDAYS)], "ferris", "web1", at "2024-06-08T12:00:00Z", Want::Deny(None, "outside days mon-fri UTC (there it is sat 12:00)")),
        case!("wrapping days, sunday", &[("a.toml", LONG_WEEKEND)], "ferris", "web1", at "2024-06-09T12:00:00Z", OK),
        case!("wrapping days, monday", &[("a.toml", LONG_WEEKEND)], "ferris", "web1", at "2024-06-10T23:59:00Z", OK),
        case!(
            "wrapping days, wednesday",
            &[("a.toml", LONG_WEEKEND)],
            "ferris",
            "web1",
            Want::Deny(None, "outside days mon,fri-sun UTC")
        ),
        case!("berlin summer 09:30", &[("a.toml", BERLIN)], "ferris", "web1", at "2024-06-05T07:30:00Z", OK),
        case!("berlin summer 17:30", &[("a.toml", BERLIN)], "ferris", "web1", at "2024-06-05T15:30:00Z",
            Want::Deny(None, "outside hours 09:00-17:00 Europe/Berlin (there it is wed 17:30)")),
        case!("berlin winter 09:30", &[("a.toml", BERLIN)], "ferris", "web1", at "2024-01-10T08:30:00Z", OK),
        case!("berlin winter 08:30", &[("a.toml", BERLIN)], "ferris", "web1", at "2024-01-10T07:30:00Z", Want::Deny(None, "there it is wed 08:30")),
        case!("new york before DST 09:30 EST", &[("a.toml", NEW_YORK)], "ferris", "web1", at "2024-03-08T14:30:00Z", OK),
        case!("new york before DST 08:30 EST", &[("a.toml", NEW_YORK)], "ferris", "web1", at "2024-03-08T13:30:00Z", Want::Deny(None, "there it is fri 08:30")),
        case!("new york after DST 09:30 EDT", &[("a.toml", NEW_YORK)], "ferris", "web1", at "2024-03-11T13:30:00Z", OK),
        case!("new york after DST 16:30 EDT", &[("a.toml", NEW_YORK)], "ferris", "web1", at "2024-03-11T20:30:00Z", OK),
        case!("new york after DST 17:30 EDT", &[("a.toml", NEW_YORK)], "ferris", "web1", at "2024-03-11T21:30:00Z", Want::Deny(None, "there it is mon 17:30")),
        case!("new york: friday evening UTC is still friday", &[("a.toml", NEW_YORK)], "ferris", "web1", at "2024-06-08T00:30:00Z", Want::Deny(None, "there it is fri 20:30")),
        case!("auckland saturday while UTC friday", &[("a.toml", AUCKLAND)], "ferris", "web1", at "2024-06-07T20:00:00Z", OK),
        case!("auckland sunday while UTC saturday", &[("a.toml", AUCKLAND)], "ferris", "web1", at "2024-06-08T20:00:00Z", Want::Deny(None, "there it is sun 08:00")),
        case!("two ranges, late", &[("a.toml", TWO)], "ferris", "web1", at "2024-06-05T23:30:00Z", OK),
        case!("two ranges, early", &[("a.toml", TWO)], "ferris", "web1", at "2024-06-05T00:59:00Z", OK),
        case!("two ranges, between", &[("a.toml", TWO)], "ferris", "web1", at "2024-06-05T12:00:00Z",
            Want::Deny(None, "outside hours 00:00-01:00, 23:00-24:00 UTC")),
    ]);
}
