//! `[notify]` in `elevated.toml`: where notifications go.
//!
//! ```toml
//! [notify]
//! queue   = 1000     # events buffered per destination
//! retries = 3        # further webhook attempts after a failure
//! backoff = "1s"     # first retry delay, doubled each time
//!
//! [[notify.webhook]]
//! url     = "https://hooks.slack.com/services/..."
//! format  = "slack"  # "json" (default), "slack", "teams"
//! events  = ["request_created", "break_glass"]   # default: all
//! timeout = "5s"
//! headers = { Authorization = "Bearer x" }
//!
//! [[notify.command]]
//! command = "/usr/local/sbin/page-oncall"   # absolute; run directly, no shell
//! args    = ["--team", "infra"]
//! events  = ["break_glass"]
//! timeout = "10s"
//! ```
//!
//! Every value is checked while the file is parsed, so a mistake is reported
//! with the file and line like any other settings error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use ureq::http::{HeaderName, HeaderValue, Uri};

use super::event::EventKind;
use super::NotifyError;
use crate::times::parse_duration;

/// Largest `queue` accepted.
pub const MAX_QUEUE: usize = 100_000;
/// Largest `retries` accepted.
pub const MAX_RETRIES: u32 = 20;

/// `[notify]`: the destinations and how hard to try each.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// Events buffered per destination; when full, new events for that
    /// destination are dropped and logged.
    #[serde(deserialize_with = "de_queue")]
    pub queue: usize,
    /// Further webhook attempts after a failure (connection error, timeout,
    /// HTTP 429 or 5xx). Command hooks run once.
    #[serde(deserialize_with = "de_retries")]
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one.
    #[serde(deserialize_with = "de_duration")]
    pub backoff: Duration,
    /// `[[notify.webhook]]` entries.
    pub webhook: Vec<WebhookSettings>,
    /// `[[notify.command]]` entries.
    pub command: Vec<CommandSettings>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            queue: 1000,
            retries: 3,
            backoff: Duration::from_secs(1),
            webhook: Vec::new(),
            command: Vec::new(),
        }
    }
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// The [`Event`](super::Event) as JSON, with its kind in `event`.
    #[default]
    Json,
    /// A Slack incoming-webhook message (`text` and `blocks`).
    Slack,
    /// A Microsoft Teams message carrying an Adaptive Card.
    Teams,
}

/// `[[notify.webhook]]`: an HTTP(S) endpoint that receives a POST per event.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// `http://` or `https://` URL.
    #[serde(deserialize_with = "de_url")]
    pub url: String,
    /// Payload format.
    #[serde(default)]
    pub format: WebhookFormat,
    /// Events sent here (default: all).
    #[serde(default = "all_events", deserialize_with = "de_events")]
    pub events: Vec<EventKind>,
    /// Time one attempt may take, connection included.
    #[serde(default = "webhook_timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// Extra request headers (e.g. `Authorization`).
    #[serde(default, deserialize_with = "de_headers")]
    pub headers: BTreeMap<String, String>,
}

/// Webhook URLs and headers often carry secrets: they are never printed.
impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &url_origin(&self.url))
            .field("format", &self.format)
            .field("events", &self.events)
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// `[[notify.command]]`: a program run once per event, with the event's JSON
/// on standard input.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSettings {
    /// Absolute path of the executable; run directly, never through a shell.
    #[serde(deserialize_with = "de_command")]
    pub command: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
    /// Events that run it (default: all).
    #[serde(default = "all_events", deserialize_with = "de_events")]
    pub events: Vec<EventKind>,
    /// Time it may run before it is killed.
    #[serde(default = "command_timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
}

impl NotifySettings {
    /// True when no destination is configured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.webhook.is_empty() && self.command.is_empty()
    }

    /// Checks values built in code the way parsing checks them in a file.
    pub fn validate(&self) -> Result<(), NotifyError> {
        let mut errs = Vec::new();
        if let Err(e) = check_queue(self.queue) {
            errs.push(e);
        }
        if let Err(e) = check_retries(self.retries) {
            errs.push(e);
        }
        for (i, w) in self.webhook.iter().enumerate() {
            let n = i + 1;
            let checks = [
                check_url(&w.url),
                check_events(&w.events),
                check_headers(&w.headers),
                check_timeout(w.timeout),
            ];
            errs.extend(
                checks
                    .into_iter()
                    .filter_map(Result::err)
                    .map(|e| format!("webhook {n}: {e}")),
            );
        }
        for (i, c) in self.command.iter().enumerate() {
            let n = i + 1;
            let checks = [
                check_command(&c.command),
                check_events(&c.events),
                check_timeout(c.timeout),
            ];
            errs.extend(
                checks
                    .into_iter()
                    .filter_map(Result::err)
                    .map(|e| format!("command {n}: {e}")),
            );
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(NotifyError::Invalid(errs))
        }
    }
}

/// `scheme://host[:port]` of a URL: what logs show of a webhook, since the
/// rest (a Slack or Teams URL's path, a query) is often a secret.
#[must_use]
pub fn url_origin(url: &str) -> String {
    match url.parse::<Uri>() {
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            (Some(s), Some(a)) => {
                // Drop any user:password@ part.
                let host = a.as_str().rsplit('@').next().unwrap_or_default();
                format!("{s}://{host}")
            }
            _ => "<invalid url>".into(),
        },
        Err(_) => "<invalid url>".into(),
    }
}

fn all_events() -> Vec<EventKind> {
    EventKind::ALL.to_vec()
}

fn webhook_timeout() -> Duration {
    Duration::from_secs(5)
}

fn command_timeout() -> Duration {
    Duration::from_secs(10)
}

fn check_queue(n: usize) -> Result<(), String> {
    if (1..=MAX_QUEUE).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "queue = {n} is out of range: give 1 to {MAX_QUEUE} events"
        ))
    }
}

fn check_retries(n: u32) -> Result<(), String> {
    if n <= MAX_RETRIES {
        Ok(())
    } else {
        Err(format!(
            "retries = {n} is too many: give 0 to {MAX_RETRIES}"
        ))
    }
}

fn check_timeout(d: Duration) -> Result<(), String> {
    if d.is_zero() {
        Err("timeout must be longer than zero".into())
    } else {
        Ok(())
    }
}

fn check_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        let scheme = url.split_once("://").map_or("none", |(s, _)| s);
        return Err(format!(
            "webhook url must start with http:// or https:// (its scheme is {scheme:?})"
        ));
    }
    let uri: Uri = url.parse().map_err(|e| {
        format!("webhook url is not a valid URL ({e}); check for spaces or stray characters")
    })?;
    let host = uri.host().unwrap_or_default();
    if host.is_empty() {
        return Err("webhook url has no host name".into());
    }
    Ok(())
}

fn check_command(path: &std::path::Path) -> Result<(), String> {
    if !path.is_absolute() {
        return Err(format!(
            "command {:?} must be an absolute path (hooks run directly, without a shell or PATH search)",
            path.display().to_string()
        ));
    }
    if path.file_name().is_none() {
        return Err(format!(
            "command {:?} names no file",
            path.display().to_string()
        ));
    }
    Ok(())
}

fn check_events(events: &[EventKind]) -> Result<(), String> {
    if events.is_empty() {
        let names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        Err(format!(
            "events is empty: name some of {}, or leave it out to send all",
            names.join(", ")
        ))
    } else {
        Ok(())
    }
}

/// Headers the HTTP client sets itself.
const RESERVED_HEADERS: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!(
                "header name {name:?} is not a valid HTTP header name"
            ));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "header {name:?} is set by the daemon and cannot be given"
            ));
        }
        if HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "the value of header {name:?} holds characters not allowed in HTTP headers (such as a line break)"
            ));
        }
    }
    Ok(())
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

fn de_queue<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    check_queue(n).map_err(serde::de::Error::custom)?;
    Ok(n)
}

fn de_retries<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    check_retries(n).map_err(serde::de::Error::custom)?;
    Ok(n)
}

fn de_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_url(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

fn de_command<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    let p = PathBuf::deserialize(d)?;
    check_command(&p).map_err(serde::de::Error::custom)?;
    Ok(p)
}

fn de_events<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EventKind>, D::Error> {
    let mut events = Vec::<EventKind>::deserialize(d)?;
    check_events(&events).map_err(serde::de::Error::custom)?;
    events.sort_unstable();
    events.dedup();
    Ok(events)
}

fn de_headers<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let h = BTreeMap::<String, String>::deserialize(d)?;
    check_headers(&h).map_err(serde::de::Error::custom)?;
    Ok(h)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
