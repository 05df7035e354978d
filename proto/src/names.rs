//! Validated names. Anything that can reach a sudoers file, a group database
//! or a file name goes through one of these types first, so a value that
//! sudoers would interpret (`,` `:` `=` `\` `!` `#` `(`, whitespace, `ALL`,
//! an alias-like upper-case word) never gets that far.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("{kind} name is empty")]
    Empty {
        /// What kind of name was being checked.
        kind: &'static str,
    },
    /// The name is longer than allowed.
    #[error("{kind} name {name:?} is longer than {max} characters")]
    TooLong {
        /// What kind of name was being checked.
        kind: &'static str,
        /// The offending name.
        name: String,
        /// The limit.
        max: usize,
    },
    /// The name is shorter than allowed.
    #[error("{kind} {name:?} is shorter than {min} characters")]
    TooShort {
        /// What kind of name was being checked.
        kind: &'static str,
        /// The offending name.
        name: String,
        /// The minimum.
        min: usize,
    },
    /// The name holds a character that is not allowed.
    #[error("{kind} name {name:?} contains {ch:?}; allowed: {allowed}")]
    BadChar {
        /// What kind of name was being checked.
        kind: &'static str,
        /// The offending name.
        name: String,
        /// The first character that is not allowed.
        ch: char,
        /// A description of the allowed characters.
        allowed: &'static str,
    },
    /// The name would be read by sudo as a keyword or an alias.
    #[error("{kind} name {name:?} is reserved in sudoers: an all upper case name reads as an alias or keyword (such as ALL), and Defaults, *_Alias, sudoedit and sha224 to sha512 are keywords")]
    Reserved {
        /// What kind of name was being checked.
        kind: &'static str,
        /// The offending name.
        name: String,
    },
}

fn check(
    kind: &'static str,
    s: &str,
    max: usize,
    first: fn(char) -> bool,
    rest: fn(char) -> bool,
    allowed: &'static str,
) -> Result<(), NameError> {
    let mut chars = s.chars();
    let Some(c0) = chars.next() else {
        return Err(NameError::Empty { kind });
    };
    if s.chars().count() > max {
        return Err(NameError::TooLong {
            kind,
            name: s.to_owned(),
            max,
        });
    }
    let bad = if first(c0) {
        chars.find(|c| !rest(*c))
    } else {
        Some(c0)
    };
    if let Some(ch) = bad {
        return Err(NameError::BadChar {
            kind,
            name: s.to_owned(),
            ch,
            allowed,
        });
    }
    Ok(())
}

/// Words that sudoers never reads as a name. `Defaults` and the `*_Alias`
/// words open other kinds of lines when they start one, as a user name does
/// in a rule; `sudoedit` and the digest names (`sha256` before a `:`) are
/// command keywords wherever they stand, the run-as list included. A rule
/// naming a user or run-as user of one of these names is a syntax error.
const SUDOERS_KEYWORDS: [&str; 11] = [
    "Defaults",
    "User_Alias",
    "Runas_Alias",
    "Host_Alias",
    "Cmnd_Alias",
    "Cmd_Alias",
    "sudoedit",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
];

/// Unix account names: a letter or `_`, then letters, digits, `_`, `-`, `.`;
/// at most 32 characters. Names made only of upper-case letters, digits and
/// `_` are refused because sudoers treats them as aliases (`ALL` among them),
/// and so are the other sudoers keywords (see [`SUDOERS_KEYWORDS`]).
fn check_account(kind: &'static str, s: &str) -> Result<(), NameError> {
    check(
        kind,
        s,
        32,
        |c| c.is_ascii_alphabetic() || c == '_',
        |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
        "ASCII letters, digits, '_', '-', '.' (not first)",
    )?;
    let alias_like = s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if alias_like || SUDOERS_KEYWORDS.contains(&s) {
        return Err(NameError::Reserved {
            kind,
            name: s.to_owned(),
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `s` and wraps it.
            pub fn parse(s: &str) -> Result<Self, NameError> {
                let check: fn(&str) -> Result<(), NameError> = $check;
                check(s)?;
                Ok(Self(s.to_owned()))
            }

            /// The validated text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// A Unix user name that is safe to write into a sudoers rule.
    UserName,
    |s| check_account("user", s)
);
name_type!(
    /// A Unix group name that is safe to pass to `gpasswd` and sudoers.
    GroupName,
    |s| check_account("group", s)
);
name_type!(
    /// A role name from policy: lower-case letter first, then lower-case
    /// letters, digits, `-` and `_`; at most 64 characters.
    RoleName,
    |s| check(
        "role",
        s,
        64,
        |c| c.is_ascii_lowercase(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'),
        "lower-case ASCII letters, digits, '-', '_' (letter first)",
    )
);
name_type!(
    /// A request or grant id, generated by the daemon: 4 to 32 lower-case
    /// letters and digits. It names the sudoers drop-in `elevated_<id>`, so it
    /// never holds a `.` (sudo skips such files) or a path separator.
    GrantId,
    |s| {
        check(
            "request id",
            s,
            32,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
            |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
            "lower-case ASCII letters and digits",
        )?;
        if s.len() < 4 {
            return Err(NameError::TooShort {
                kind: "request id",
                name: s.to_owned(),
                min: 4,
            });
        }
        Ok(())
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts() {
        for ok in ["alice", "_svc", "bob-2", "j.doe", "Alice", "a"] {
            assert!(UserName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "ALL", "ADMINS", "A1", "1abc", "-x", "a b", "a,b", "a:b", "a=b", "a\\b", "a!b",
            "a#b", "a\nb", "a(b", "a/b", "a*b", "%adm", "+net", "ünï",
        ] {
            assert!(UserName::parse(bad).is_err(), "{bad:?}");
            assert!(GroupName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UserName::parse(&"a".repeat(33)).is_err());
        // Found by fuzzing the sudoers renderer: visudo refuses a rule
        // whose user or run-as user has one of these names.
        for bad in SUDOERS_KEYWORDS {
            assert!(
                matches!(UserName::parse(bad), Err(NameError::Reserved { .. })),
                "{bad}"
            );
            assert!(GroupName::parse(bad).is_err(), "{bad}");
        }
        for ok in [
            "defaults",
            "Defaults_x",
            "Host_alias",
            "Cmnd_Aliases",
            "sudoedit2",
            "sha1",
            "sha256.x",
        ] {
            assert!(UserName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn roles_and_ids() {
        assert!(RoleName::parse("db-admin").is_ok());
        assert!(RoleName::parse("ops_2").is_ok());
        for bad in ["Db", "2x", "a.b", "a b", "", "ALL", "a,b"] {
            assert!(RoleName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(GrantId::parse("k3f9x2ma").is_ok());
        for bad in ["k3f.x2ma", "../etc", "ab", "ABCDEFGH", "abcd efg"] {
            assert!(GrantId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_validates() {
        let r: Result<RoleName, _> = serde_json::from_str("\"ALL\"");
        assert!(r.is_err());
        let r: RoleName = serde_json::from_str("\"ops\"").unwrap();
        assert_eq!(r.as_str(), "ops");
    }
}
