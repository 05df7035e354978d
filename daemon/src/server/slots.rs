//! Connection slots: how many connections are served at once, overall and
//! per user. The uid is the kernel's (`SO_PEERCRED`), read before a slot is
//! given, so one local user cannot take every slot and lock out the
//! others; root (whose uid the PAM module runs under for every login) is
//! bounded only by the overall limit.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Open files the daemon keeps for itself beyond its connections: the
/// store (database, WAL, shared memory), the listener, syslog, D-Bus, the
/// runtime's own, pipes to visudo and gpasswd, webhook sockets.
pub const FD_RESERVE: u64 = 64;

/// The connection limit the open-file limit leaves room for: `wanted`, or
/// less (at least 1) when `nofile` cannot hold it plus [`FD_RESERVE`].
#[must_use]
pub fn fit_to_nofile(wanted: usize, nofile: Option<u64>) -> usize {
    match nofile {
        Some(n) => {
            let room = usize::try_from(n.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
            wanted.min(room).max(1)
        }
        None => wanted,
    }
}

/// The slots, shared by the accept loop and every connection.
#[derive(Debug)]
pub struct Slots {
    total: usize,
    per_user: usize,
    used: Mutex<Used>,
}

#[derive(Debug, Default)]
struct Used {
    total: usize,
    /// Only uids holding a slot: the map shrinks as they leave.
    by_uid: HashMap<u32, usize>,
}

/// Why a connection gets no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot is taken.
    Full(usize),
    /// This user holds all the slots one user may.
    User(usize),
}

impl Refusal {
    /// What the refused client is told.
    #[must_use]
    pub fn message(self) -> String {
        match self {
            Self::Full(n) => {
                format!("too many connections to elevated ({n} at once); try again shortly")
            }
            Self::User(n) => format!(
                "too many connections from your user ({n} at once); close some and try again"
            ),
        }
    }
}

/// One connection's slot; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    uid: u32,
}

impl Slots {
    /// `total` slots, at most `per_user` of them for any one non-root uid.
    #[must_use]
    pub fn new(total: usize, per_user: usize) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_user,
            used: Mutex::new(Used::default()),
        })
    }

    fn used(&self) -> MutexGuard<'_, Used> {
        // Counters stay consistent under a panic elsewhere: every update
        // is a single step.
        self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a connection from `uid`, or why not.
    pub fn take(self: &Arc<Self>, uid: u32) -> Result<Slot, Refusal> {
        let mut used = self.used();
        if used.total >= self.total {
            return Err(Refusal::Full(self.total));
        }
        let mine = used.by_uid.get(&uid).copied().unwrap_or(0);
        if uid != 0 && mine >= self.per_user {
            return Err(Refusal::User(self.per_user));
        }
        used.total += 1;
        used.by_uid.insert(uid, mine + 1);
        Ok(Slot {
            slots: self.clone(),
            uid,
        })
    }

    /// Slots in use, and how many uids hold them.
    #[cfg(test)]
    #[must_use]
    pub fn in_use(&self) -> (usize, usize) {
        let used = self.used();
        (used.total, used.by_uid.len())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = self.slots.used();
        used.total = used.total.saturating_sub(1);
        if let Some(n) = used.by_uid.get_mut(&self.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                used.by_uid.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_cannot_take_every_slot() {
        let slots = Slots::new(10, 3);
        let mine: Vec<Slot> = (0..3).map(|_| slots.take(1000).unwrap()).collect();
        assert_eq!(slots.take(1000).unwrap_err(), Refusal::User(3));
        // Others still get in, root beyond the per-user bound.
        let other = slots.take(1001).unwrap();
        let roots: Vec<Slot> = (0..6).map(|_| slots.take(0).unwrap()).collect();
        assert_eq!(slots.in_use(), (10, 3));
        assert_eq!(slots.take(0).unwrap_err(), Refusal::Full(10));
        assert_eq!(slots.take(1002).unwrap_err(), Refusal::Full(10));
        drop(other);
        assert!(slots.take(1002).is_ok());
        drop((mine, roots));
    }

    #[test]
    fn slots_come_back_and_the_table_shrinks() {
        let slots = Slots::new(4, 2);
        for uid in 1..1000 {
            let a = slots.take(uid).unwrap();
            let b = slots.take(uid).unwrap();
            assert!(slots.take(uid).is_err());
            drop((a, b));
        }
        assert_eq!(slots.in_use(), (0, 0));
    }

    #[test]
    fn refusals_say_which_limit() {
        assert!(Refusal::Full(1024)
            .message()
            .contains("too many connections"));
        assert!(Refusal::User(32).message().contains("from your user (32"));
    }

    #[test]
    fn the_limit_fits_the_open_file_limit() {
        assert_eq!(fit_to_nofile(1024, None), 1024);
        assert_eq!(fit_to_nofile(1024, Some(524_288)), 1024);
        assert_eq!(fit_to_nofile(1024, Some(1024)), 960);
        assert_eq!(fit_to_nofile(1024, Some(10)), 1);
    }
}
