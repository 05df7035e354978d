//! The time of a decision in each zone its rules use, worked out once per
//! zone rather than once per rule: turning an instant into a local day and
//! minute is the dearest part of checking a rule, and the rules of a
//! policy use few zones.

use jiff::tz::TimeZone;

use super::check::local_day_minute;
use super::model::{Rule, When};

/// Zones whose local time a [`Clock`] remembers; rules in further zones
/// (rare: one policy seldom uses many) work it out every time.
pub(super) const REMEMBERED: usize = 8;

/// The distinct zones of a policy's `when` selectors, in order of first
/// use, and which one each rule's is. Built at load time, independent of
/// any decision.
#[derive(Debug, Clone, Default)]
pub(super) struct Zones {
    /// Distinct zones.
    zones: Vec<TimeZone>,
    /// Rule index -> position of its `when.tz` in `zones` (`None`: no
    /// `when`).
    of_rule: Vec<Option<usize>>,
}

impl Zones {
    /// Notes the zone of the policy's next rule.
    pub(super) fn push(&mut self, rule: &Rule) {
        let slot = rule.when.as_ref().map(|w| {
            // jiff compares zones by their data, not by name alone, so
            // equal zones give equal local times.
            self.zones
                .iter()
                .position(|z| *z == w.tz)
                .unwrap_or_else(|| {
                    self.zones.push(w.tz.clone());
                    self.zones.len() - 1
                })
        });
        self.of_rule.push(slot);
    }

    /// A clock for one decision at `now`.
    pub(super) fn clock(&self, now: jiff::Timestamp) -> Clock<'_> {
        Clock {
            zones: self,
            now,
            known: [None; REMEMBERED],
        }
    }
}

/// `now` in the zones of one policy, each worked out on first use.
#[derive(Debug)]
pub(super) struct Clock<'p> {
    /// The policy's zones.
    zones: &'p Zones,
    /// The time of the decision.
    now: jiff::Timestamp,
    /// Zone slot -> day and minute there, once worked out.
    known: [Option<(u8, u16)>; REMEMBERED],
}

impl Clock<'_> {
    /// Day of the week and minute of the day of `now` in the zone of
    /// `when`, the `when` of rule `rule_index`.
    pub(super) fn local(&mut self, rule_index: usize, when: &When) -> (u8, u16) {
        let now = self.now;
        let slot = self.zones.of_rule.get(rule_index).copied().flatten();
        match slot.and_then(|s| self.known.get_mut(s)) {
            Some(known) => *known.get_or_insert_with(|| local_day_minute(when, now)),
            None => local_day_minute(when, now),
        }
    }
}
