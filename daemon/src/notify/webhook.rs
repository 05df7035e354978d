//! One webhook attempt: POST the payload, classify the answer.

use std::io::Read;
use std::time::Duration;

use ureq::Agent;

use super::config::{url_origin, WebhookFormat, WebhookSettings};
use super::event::Event;
use super::format;

/// Bytes of a failed response's body kept for the log.
const MAX_LOGGED_BODY: u64 = 512;
/// Longest wait a `Retry-After` header may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The result of one attempt.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Attempt {
    /// The endpoint took the event (2xx).
    Delivered,
    /// Worth trying again (connection error, timeout, 429, 5xx); the
    /// endpoint may ask for a minimum wait.
    Retry {
        /// What went wrong, for the log.
        why: String,
        /// `Retry-After`, when given in seconds.
        after: Option<Duration>,
    },
    /// Trying again would not help (other 4xx, redirects, bad request).
    Final(String),
}

/// A configured webhook with its HTTP agent.
pub(super) struct Webhook {
    agent: Agent,
    url: String,
    format: WebhookFormat,
    headers: Vec<(String, String)>,
}

impl Webhook {
    /// Builds the agent for `settings`: one attempt may take `timeout` in
    /// all; redirects are not followed (a webhook that moved is a
    /// configuration error, and following it could send secrets elsewhere);
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` apply as usual.
    pub(super) fn new(settings: &WebhookSettings) -> Self {
        let config = Agent::config_builder()
            .timeout_global(Some(settings.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("elevated/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: Agent::new_with_config(config),
            url: settings.url.clone(),
            format: settings.format,
            headers: settings
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Where this webhook posts, without the secret parts of the URL.
    pub(super) fn origin(&self) -> String {
        url_origin(&self.url)
    }

    /// Posts `event` once.
    pub(super) fn attempt(&self, event: &Event) -> Attempt {
        let body = format::payload(self.format, event);
        let mut req = self
            .agent
            .post(&self.url)
            .content_type("application/json; charset=utf-8");
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = match req.send(body.as_bytes()) {
            Ok(resp) => resp,
            Err(e) => return classify_error(&e),
        };
        let status = resp.status().as_u16();
        let after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let mut text = String::new();
        // Reading the body lets the connection be reused; its text helps
        // an admin see why a chat service refused a message.
        let _ = resp
            .body_mut()
            .as_reader()
            .take(MAX_LOGGED_BODY)
            .read_to_string(&mut text);
        let detail = if text.trim().is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {}", one_line(&text))
        };
        match status {
            200..=299 => Attempt::Delivered,
            429 | 500..=599 => Attempt::Retry { why: detail, after },
            300..=399 => Attempt::Final(format!(
                "{detail} (the webhook redirects; configure its final URL)"
            )),
            _ => Attempt::Final(detail),
        }
    }
}

fn classify_error(e: &ureq::Error) -> Attempt {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => Attempt::Retry {
            why: format!("timed out: {e}"),
            after: None,
        },
        E::Io(_)
        | E::HostNotFound
        | E::ConnectionFailed
        | E::Protocol(_)
        | E::ConnectProxyFailed(_) => Attempt::Retry {
            why: format!("connection failed: {e}"),
            after: None,
        },
        // TLS failures (unknown CA, bad certificate) and malformed requests
        // will not fix themselves.
        _ => Attempt::Final(format!("{e}")),
    }
}

/// Text on one line, so a log record stays one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
