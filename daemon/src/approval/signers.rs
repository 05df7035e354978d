//! The allowed-signers file (`ALLOWED SIGNERS` in `ssh-keygen(1)`): who may
//! sign approvals, with which key.
//!
//! ```text
//! # principals          [options]                        keytype     base64-key  [comment]
//! alice@example.com     ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... alice's laptop
//! *@example.com,!mallory@example.com namespaces="elevated-approval" ssh-ed25519 AAAA...
//! bob@example.com       valid-after="20250101",valid-before="20251231Z" ecdsa-sha2-nistp256 AAAA...
//! ```
//!
//! One entry a line; blank lines and lines starting with `#` are ignored.
//! The principals are an OpenSSH pattern list (see [`super::pattern`]),
//! quoted with `"` when they hold blanks. The options are comma-separated,
//! case-insensitive and their values double-quoted:
//!
//! - `namespaces="a,b"`: a pattern list of signature namespaces the key may
//!   sign for;
//! - `valid-after="YYYYMMDD[HHMM[SS]][Z]"`, `valid-before="..."`: the key is
//!   accepted from / until that time, both included. With `Z` (or `UTC`) the
//!   time is UTC, otherwise civil time in the time zone given to the parser
//!   ([`AllowedSigners::parse`] and [`AllowedSigners::load`] use the
//!   system's, as `ssh-keygen` does). A date alone means its midnight.
//!
//! Stricter than OpenSSH, which reports a bad line only when it gets to it:
//! any bad line makes the whole file an error, with every bad line listed.
//! Also refused: `cert-authority` (certificate signers are not supported),
//! unknown options, unknown, DSA and certificate key types, RSA keys outside
//! 2048 to 4096 bits, impossible dates, and pattern lists with no positive
//! pattern (they match nothing).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ssh_key::PublicKey;

use super::keys::{check_key, fingerprint, key_type_word, supported_list, KeyTypeWord};
use super::pattern::match_list;
use super::signer_options::{check_patterns, parse_options, shown, SignerOptions};
use crate::config::files::read_trusted;
use crate::config::{ConfigError, ConfigErrors};

/// Every entry of an allowed-signers file, in file order.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    entries: Vec<SignerEntry>,
}

/// One line of an allowed-signers file.
#[derive(Debug, Clone)]
pub struct SignerEntry {
    line: u32,
    principals: String,
    key: PublicKey,
    options: SignerOptions,
}

impl AllowedSigners {
    /// Parses the text of an allowed-signers file; `path` is only for
    /// messages. Times without `Z` are in the system's time zone.
    pub fn parse(path: &Path, src: &str) -> Result<Self, ConfigErrors> {
        Self::parse_in(path, src, &TimeZone::system())
    }

    /// Like [`AllowedSigners::parse`], with times without `Z` in `tz`.
    pub fn parse_in(path: &Path, src: &str, tz: &TimeZone) -> Result<Self, ConfigErrors> {
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for (i, text) in src.split('\n').enumerate() {
            let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
            match parse_line(line, text, tz) {
                Ok(Some(entry)) => entries.push(entry),
                Ok(None) => {}
                Err(message) => errors.push(ConfigError::at(path, line, message)),
            }
        }
        if errors.is_empty() {
            Ok(Self { entries })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Reads and parses the file at `path` (see [`AllowedSigners::parse`]).
    ///
    /// A missing file is an empty set: nobody can approve by signature. The
    /// file is refused when others could have written it (see
    /// [`read_trusted`]).
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        Self::load_in(path, &TimeZone::system())
    }

    /// Like [`AllowedSigners::load`], with times without `Z` in `tz`.
    pub fn load_in(path: &Path, tz: &TimeZone) -> Result<Self, ConfigErrors> {
        // A dangling symbolic link is not "missing": it is read, and fails.
        if let Err(e) = fs::symlink_metadata(path) {
            if e.kind() == ErrorKind::NotFound {
                return Ok(Self::default());
            }
        }
        let src = read_trusted(path).map_err(|e| ConfigErrors(vec![e]))?;
        Self::parse_in(path, &src, tz)
    }

    /// The entries, in file order.
    #[must_use]
    pub fn entries(&self) -> &[SignerEntry] {
        &self.entries
    }

    /// Whether the file lists nobody.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl SignerEntry {
    /// The 1-based line of the entry in its file.
    #[must_use]
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The principals pattern list, as written (without enclosing quotes).
    #[must_use]
    pub fn principals(&self) -> &str {
        &self.principals
    }

    /// Whether `principal` matches the principals pattern list (with `!`
    /// negation, as `ssh-keygen -Y verify -I principal` checks it).
    #[must_use]
    pub fn matches_principal(&self, principal: &str) -> bool {
        match_list(principal, &self.principals)
    }

    /// The public key.
    #[must_use]
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The key's SHA-256 fingerprint, as `ssh-keygen -l` prints it.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        fingerprint(self.key.key_data())
    }

    /// The `namespaces=` pattern list, when given.
    #[must_use]
    pub fn namespaces(&self) -> Option<&str> {
        self.options.namespaces.as_deref()
    }

    /// The `valid-after=` time, when given.
    #[must_use]
    pub fn valid_after(&self) -> Option<Timestamp> {
        self.options.valid_after
    }

    /// The `valid-before=` time, when given.
    #[must_use]
    pub fn valid_before(&self) -> Option<Timestamp> {
        self.options.valid_before
    }

    /// Why the entry cannot vouch for a signature in `namespace` at `now`,
    /// or `None` when it can. `now` counts in whole seconds, as in OpenSSH;
    /// both ends of the validity window are included.
    #[must_use]
    pub fn refusal(&self, namespace: &str, now: Timestamp) -> Option<String> {
        if let Some(list) = self.namespaces() {
            if !match_list(namespace, list) {
                return Some(format!(
                    "line {}: namespaces=\"{}\" does not allow namespace \"{}\"",
                    self.line,
                    shown(list),
                    shown(namespace)
                ));
            }
        }
        let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
        if let Some(after) = self.valid_after().filter(|after| now < *after) {
            return Some(format!(
                "line {}: not valid before valid-after {after}",
                self.line
            ));
        }
        if let Some(before) = self.valid_before().filter(|before| now > *before) {
            return Some(format!(
                "line {}: expired at valid-before {before}",
                self.line
            ));
        }
        None
    }
}

const FORMAT: &str = "expected: principals [options] keytype base64-key [comment]";

/// One line: `Ok(None)` for a blank or comment line.
fn parse_line(line: u32, text: &str, tz: &TimeZone) -> Result<Option<SignerEntry>, String> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    let text = skip_blanks(text);
    if text.is_empty() || text.starts_with('#') {
        return Ok(None);
    }
    let (principals, rest) = principals_field(text)?;
    check_patterns("principals", &principals)?;
    let rest = skip_blanks(rest);
    let (word, after_word) = split_word(rest);
    if word.is_empty() {
        return Err(format!("no key after the principals; {FORMAT}"));
    }
    let (options, key_type, after_type) = if key_type_word(word) == KeyTypeWord::Unknown {
        let (next, _) = split_word(skip_blanks(after_word));
        if !word.contains('=') && key_type_word(next) == KeyTypeWord::Unknown {
            return Err(unknown_key_type(word));
        }
        let (field, after) = options_field(rest)?;
        let options = parse_options(field, tz)?;
        let (key_type, after_type) = split_word(skip_blanks(after));
        if key_type.is_empty() {
            return Err(format!("no key after the options; {FORMAT}"));
        }
        (options, key_type, after_type)
    } else {
        (SignerOptions::default(), word, after_word)
    };
    match key_type_word(key_type) {
        KeyTypeWord::Supported => {}
        KeyTypeWord::Refused(why) => return Err(why.into()),
        KeyTypeWord::Unknown => return Err(unknown_key_type(key_type)),
    }
    let (base64, _comment) = split_word(skip_blanks(after_type));
    if base64.is_empty() {
        return Err(format!("no base64 key after {key_type}; {FORMAT}"));
    }
    let key = PublicKey::from_openssh(&format!("{key_type} {base64}")).map_err(|_| {
        format!(
            "the base64 key after {key_type} is not a valid {key_type} public key \
             (damaged, cut short, or of another type); copy it again from the \
             approver's .pub file"
        )
    })?;
    check_key(key.key_data())?;
    Ok(Some(SignerEntry {
        line,
        principals,
        key,
        options,
    }))
}

fn unknown_key_type(word: &str) -> String {
    format!(
        "unknown key type \"{}\"; supported: {}",
        shown(word),
        supported_list()
    )
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn skip_blanks(s: &str) -> &str {
    s.trim_start_matches(is_blank)
}

/// The word at the start of `s` and what follows it.
fn split_word(s: &str) -> (&str, &str) {
    s.split_at(s.find(is_blank).unwrap_or(s.len()))
}

/// The principals field, unquoted, and the text after it.
fn principals_field(text: &str) -> Result<(String, &str), String> {
    if let Some(body) = text.strip_prefix('"') {
        let end = body
            .find('"')
            .ok_or("the quoted principals have no closing quote")?;
        let after = &body[end + 1..];
        if !(after.is_empty() || after.starts_with(is_blank)) {
            return Err("a blank must follow the closing quote of the principals".into());
        }
        Ok((body[..end].to_owned(), after))
    } else {
        let (word, after) = split_word(text);
        if word.contains('"') {
            return Err(format!(
                "a quote inside the principals \"{}\": quote the whole field or none of it",
                shown(word)
            ));
        }
        Ok((word.to_owned(), after))
    }
}

/// The options field at the start of `s` (blanks allowed inside quotes,
/// `\"` an escaped quote) and the text after it.
fn options_field(s: &str) -> Result<(&str, &str), String> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && s[i + 1..].starts_with('"') {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && is_blank(c) {
            return Ok(s.split_at(i));
        }
    }
    if quoted {
        Err("an option value has no closing quote".into())
    } else {
        Ok((s, ""))
    }
}

#[cfg(test)]
#[path = "signers_tests.rs"]
mod tests;
