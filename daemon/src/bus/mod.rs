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

/// How long a request that needs session facts waits for the bus while the
/// daemon is still connecting to it. Under socket activation the request
/// that started the daemon arrives before the connection is up; without
/// the wait, its session facts would be unknown and a rule that needs
/// them would refuse the very first request after every start.
const CONNECTING_WAIT: Duration = Duration::from_secs(2);

/// The bus as the server sees it.
#[derive(Debug, Clone)]
enum BusState {
    /// Still connecting (start-up).
    Connecting,
    /// On the bus.
    Ready(Bus),
    /// No bus: session facts are unknown for the daemon's lifetime.
    Unavailable,
}

/// Where the bus handle appears once connected (or that there is none).
#[derive(Debug, Clone)]
pub struct BusSlot(Arc<tokio::sync::watch::Sender<BusState>>);

impl Default for BusSlot {
    fn default() -> Self {
        BusSlot(Arc::new(tokio::sync::watch::Sender::new(
            BusState::Connecting,
        )))
    }
}

impl BusSlot {
    /// The bus, waiting up to [`CONNECTING_WAIT`] while the daemon is still
    /// connecting; `None` when there is no bus (the facts are then
    /// unknown, which never opens access).
    pub async fn bus(&self) -> Option<Bus> {
        let mut rx = self.0.subscribe();
        let ready = tokio::time::timeout(
            CONNECTING_WAIT,
            rx.wait_for(|s| !matches!(s, BusState::Connecting)),
        )
        .await;
        match ready {
            Ok(Ok(state)) => match &*state {
                BusState::Ready(bus) => Some(bus.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    fn set(&self, state: BusState) {
        self.0.send_replace(state);
    }
}

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
                slot.set(BusState::Unavailable);
                return;
            }
        };
        tracing::info!("on D-Bus as {NAME}");
        slot.set(BusState::Ready(Bus { conn: conn.clone() }));
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
