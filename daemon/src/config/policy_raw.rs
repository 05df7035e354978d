//! The policy file as written: serde structures that only know the shape of
//! the file. Every leaf that needs checking stays a string with its place in
//! the file, so that the loader can report all problems with their lines.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::string_list::StringOrList;

/// A list of strings, each with its place, the list too.
pub(super) type SpannedList = Spanned<Vec<Spanned<String>>>;

/// `name = value(s)`, as in `tags` and `attributes`.
pub(super) type SpannedTags = Spanned<BTreeMap<Spanned<String>, Spanned<StringOrList>>>;

/// One policy file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub roles: BTreeMap<Spanned<String>, Spanned<RawRole>>,
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
}

/// `[roles.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRole {
    #[serde(default)]
    pub description: String,
    pub sudo: Option<Spanned<RawSudo>>,
    pub groups: Option<SpannedList>,
    #[serde(default)]
    pub allow_privileged_groups: bool,
    pub on_expiry: Option<Spanned<String>>,
    pub terminate_grace: Option<Spanned<String>>,
    #[serde(default)]
    pub login: bool,
    pub default_duration: Option<Spanned<String>>,
    pub max_duration: Option<Spanned<String>>,
    pub actions: Option<SpannedList>,
    pub action_duration: Option<Spanned<String>>,
    #[serde(default)]
    pub reauth: bool,
}

/// `sudo = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSudo {
    pub runas: Option<Spanned<String>>,
    pub commands: SpannedList,
    pub nopasswd: Option<bool>,
}

/// `[[rules]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub role: Spanned<String>,
    pub effect: Option<Spanned<String>>,
    pub who: Option<RawWho>,
    #[serde(rename = "where")]
    pub where_: Option<RawWhere>,
    pub when: Option<RawWhen>,
    pub context: Option<SpannedTags>,
    pub approval: Option<Spanned<RawApproval>>,
}

/// `who = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWho {
    pub users: Option<SpannedList>,
    pub groups: Option<SpannedList>,
    pub attributes: Option<SpannedTags>,
}

/// `where = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWhere {
    pub hosts: Option<SpannedList>,
    pub tags: Option<SpannedTags>,
}

/// `when = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWhen {
    pub days: Option<Spanned<StringOrList>>,
    pub hours: Option<Spanned<StringOrList>>,
    pub tz: Option<Spanned<String>>,
}

/// `approval = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApproval {
    pub count: Option<Spanned<u32>>,
    pub approvers: Option<Spanned<RawApprovers>>,
    #[serde(default)]
    pub reason: bool,
    #[serde(default)]
    pub reauth: bool,
    pub timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub break_glass: bool,
    pub deny_count: Option<Spanned<u32>>,
    pub verify_required: Option<Spanned<bool>>,
}

/// `approvers = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApprovers {
    pub users: Option<SpannedList>,
    pub groups: Option<SpannedList>,
    pub principals: Option<SpannedList>,
    pub attributes: Option<SpannedTags>,
}
