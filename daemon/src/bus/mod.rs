//! D-Bus: the daemon's own interface `org.elevated.Elevated1` on the system
//! bus (signals for every transition, read-only listing methods), and
//! logind's facts about a requester's session. The bus is optional: start-up
//! never waits for it, and without it session facts are simply unknown
//! (rules that need them do not match; see `policy::Rule::context`).
#![forbid(unsafe_code)]

mod iface;
mod logind;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::Engine;

/// The well-known name the daemon owns.
pub const NAME: &str = "org.elevated.Elevated1";
/// The object path of its interface.
pub const PATH: &str = "/org/elevated/Elevated1";

/// Longest wait for logind to describe a session; a slow bus must not slow
/// requests much, and an unanswered question just leaves the facts unknown.
const LOGIND_TIMEOUT: Duration = Duration::from_millis(500);

/// A connection to the system bus.
#[derive(Debug, Clone)]
pub struct Bus {
    conn: zbus::Connection,
}

/// Where the bus handle appears once connected.
pub type BusSlot = Arc<std::sync::OnceLock<Bus>>;

impl Bus {
    /// Session facts for `pid` (`session`, `service`, `tty`, `rhost`), or
    /// none when logind does not know, does not answer in time, or the
    /// session is not `uid`'s.
    pub async fn session_facts(&self, pid: i32, uid: u32) -> BTreeMap<String, Vec<String>> {
        let Ok(pid) = u32::try_from(pid) else {
            return BTreeMap::new();
        };
        match tokio::time::timeout(LOGIND_TIMEOUT, logind::facts(&self.conn, pid, uid)).await {
            Ok(Ok(facts)) => facts,
            Ok(Err(e)) => {
                tracing::debug!("logind has no session for pid {pid}: {e}");
                BTreeMap::new()
            }
            Err(_) => {
                tracing::warn!("logind did not answer within {LOGIND_TIMEOUT:?}");
                BTreeMap::new()
            }
        }
    }
}

/// Connects in the background (the system bus, or `DBUS_SYSTEM_BUS_ADDRESS`),
/// publishes the interface, fills `slot`, and relays the engine's
/// transitions as signals. Failure is logged once; the daemon runs on.
pub fn start(engine: Arc<Engine>, slot: BusSlot) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let conn = match connect(engine.clone()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(
                    "D-Bus unavailable ({e}); running without signals and session facts"
                );
                return;
            }
        };
        tracing::info!("on D-Bus as {NAME}");
        let _ = slot.set(Bus { conn: conn.clone() });
        iface::relay(engine, conn).await;
    })
}

async fn connect(engine: Arc<Engine>) -> zbus::Result<zbus::Connection> {
    let builder = match std::env::var("DBUS_SYSTEM_BUS_ADDRESS") {
        Ok(addr) => zbus::connection::Builder::address(addr.as_str())?,
        Err(_) => zbus::connection::Builder::system()?,
    };
    builder
        .name(NAME)?
        .serve_at(PATH, iface::Elevated { engine })?
        .build()
        .await
}
