//! `org.elevated.Elevated1`: signals for transitions, read-only methods.
//! Who may call is restricted by the bus policy file shipped with the
//! package (`packaging/dbus/org.elevated.Elevated1.conf`).

use crate::audit::event::AuditEvent;
use std::sync::Arc;

use elevated_proto::{RequestView, Response};
use zbus::object_server::SignalEmitter;

use crate::engine::Engine;

/// The interface object.
pub struct Elevated {
    pub(super) engine: Arc<Engine>,
}

/// `(id, user, role, state, requested_at, expires_at, approvals_given,
/// approvals_needed)`; times RFC 3339, empty when not set.
type Row = (String, String, String, String, String, String, u32, u32);

fn row(v: RequestView) -> Row {
    (
        v.id,
        v.user,
        v.role,
        v.state.as_str().to_owned(),
        v.requested_at,
        v.expires_at.unwrap_or_default(),
        v.approvals_given,
        v.approvals_needed,
    )
}

impl Elevated {
    /// Lists as root would see it: the bus policy decides who may ask.
    async fn list(&self, pending: bool) -> zbus::fdo::Result<Vec<Row>> {
        let engine = self.engine.clone();
        let answer = tokio::task::spawn_blocking(move || engine.list_as_root(pending))
            .await
            .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
        match answer {
            Response::Requests { requests, .. } => Ok(requests.into_iter().map(row).collect()),
            Response::Error { message, .. } => Err(zbus::fdo::Error::Failed(message)),
            _ => Err(zbus::fdo::Error::Failed("unexpected answer".into())),
        }
    }
}

#[zbus::interface(name = "org.elevated.Elevated1")]
impl Elevated {
    /// Requests waiting for approval (and grants with a pending extension).
    async fn list_pending(&self) -> zbus::fdo::Result<Vec<Row>> {
        self.list(true).await
    }

    /// Pending requests and active grants.
    async fn list_open(&self) -> zbus::fdo::Result<Vec<Row>> {
        self.list(false).await
    }

    /// A request was made (`id`, `user`, `role`).
    #[zbus(signal)]
    async fn request_created(
        e: &SignalEmitter<'_>,
        id: &str,
        user: &str,
        role: &str,
    ) -> zbus::Result<()>;

    /// A request left `pending` or was decided at once (`id`, new `state`).
    #[zbus(signal)]
    async fn request_decided(e: &SignalEmitter<'_>, id: &str, state: &str) -> zbus::Result<()>;

    /// A grant became active (`id`, `expires_at` in RFC 3339).
    #[zbus(signal)]
    async fn grant_activated(e: &SignalEmitter<'_>, id: &str, expires_at: &str)
        -> zbus::Result<()>;

    /// A grant ended (`id`, `state`: expired or revoked).
    #[zbus(signal)]
    async fn grant_ended(e: &SignalEmitter<'_>, id: &str, state: &str) -> zbus::Result<()>;
}

/// Turns committed audit rows into signals until the engine goes away.
pub(super) async fn relay(engine: Arc<Engine>, conn: zbus::Connection) {
    let mut rx = engine.transitions();
    let Ok(emitter) = SignalEmitter::new(&conn, super::PATH) else {
        return;
    };
    loop {
        let row = match rx.recv().await {
            Ok(r) => r,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("D-Bus signals fell behind; {n} transitions not signalled");
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        let id = row.request_id.clone().unwrap_or_default();
        let detail: serde_json::Value = serde_json::from_str(&row.detail).unwrap_or_default();
        let text = |k: &str| {
            detail
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned()
        };
        let result = match AuditEvent::parse(&row.event) {
            Some(AuditEvent::Requested) => {
                Elevated::request_created(&emitter, &id, &row.actor, &text("role")).await
            }
            Some(AuditEvent::Granted) => {
                let expires = detail
                    .get("expires_at")
                    .and_then(serde_json::Value::as_i64)
                    .map(crate::times::rfc3339)
                    .unwrap_or_default();
                let decided = Elevated::request_decided(&emitter, &id, "active").await;
                decided.and(Elevated::grant_activated(&emitter, &id, &expires).await)
            }
            Some(
                e @ (AuditEvent::Denied
                | AuditEvent::Cancelled
                | AuditEvent::TimedOut
                | AuditEvent::ReauthFailed
                | AuditEvent::GrantFailed),
            ) => {
                let state = if matches!(e, AuditEvent::Cancelled | AuditEvent::TimedOut) {
                    e.name()
                } else {
                    "denied"
                };
                Elevated::request_decided(&emitter, &id, state).await
            }
            Some(e @ (AuditEvent::Expired | AuditEvent::Revoked)) => {
                Elevated::grant_ended(&emitter, &id, e.name()).await
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::debug!("D-Bus signal for {id}: {e}");
        }
    }
}
