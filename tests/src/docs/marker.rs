//! The `doc-check` vocabulary (docs/testing.md, "Examples under test").

use std::collections::BTreeMap;

/// Which directory a TOML block goes to when it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TomlKind {
    /// `elevated.toml`.
    Settings,
    /// A file of `policy.d`.
    Policy,
    /// A file of `users.d`.
    Users,
    /// A file of `host.d`.
    Host,
}

/// What a marker says about its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    /// A TOML file to be checked with `elevated check-config`, together
    /// with the earlier named blocks it extends.
    Toml {
        kind: TomlKind,
        name: Option<String>,
        extends: Vec<String>,
    },
    /// Commands (`$ ...`) and their output, run in a scenario. `of` gives
    /// the command of a block that shows only (the end of) an output;
    /// `user` the default user of `$` prompts.
    Run {
        scenario: String,
        of: Option<String>,
        user: Option<String>,
    },
    /// An example that cannot run on a test machine, and why.
    NotRun(String),
    /// Not an example (a synopsis, a format, another program's file), and
    /// what it is.
    Text(String),
}

/// Parses a marker's text (what follows `doc-check:`).
pub fn parse(text: &str) -> Result<Marker, String> {
    let text = text.trim();
    for (word, make) in [
        ("not-run", Marker::NotRun as fn(String) -> Marker),
        ("text", Marker::Text),
    ] {
        if let Some(rest) = text.strip_prefix(word) {
            let reason = rest
                .trim_start()
                .strip_prefix(':')
                .map(str::trim)
                .unwrap_or_default();
            if reason.is_empty() {
                return Err(format!("`{word}` needs a reason: `{word}: WHY`"));
            }
            return Ok(make(reason.to_owned()));
        }
    }
    let words = split(text)?;
    let (head, rest) = words.split_first().ok_or("empty doc-check marker")?;
    let mut opts = BTreeMap::new();
    let mut positional = Vec::new();
    for w in rest {
        match w.split_once('=') {
            Some((k, v)) => {
                if opts.insert(k.to_owned(), v.to_owned()).is_some() {
                    return Err(format!("option `{k}` given twice"));
                }
            }
            None => positional.push(w.clone()),
        }
    }
    let marker = match head.as_str() {
        "run" => {
            let [scenario] = positional.as_slice() else {
                return Err("`run` takes one scenario name: `run SCENARIO`".into());
            };
            Marker::Run {
                scenario: scenario.clone(),
                of: opts.remove("of"),
                user: opts.remove("as"),
            }
        }
        kind => {
            let kind = match kind {
                "settings" => TomlKind::Settings,
                "policy" => TomlKind::Policy,
                "users" => TomlKind::Users,
                "host" => TomlKind::Host,
                other => return Err(format!("unknown doc-check kind `{other}`")),
            };
            if !positional.is_empty() {
                return Err(format!("unexpected words {positional:?}"));
            }
            let extends = opts
                .remove("extends")
                .map(|e| e.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            Marker::Toml {
                kind,
                name: opts.remove("name"),
                extends,
            }
        }
    };
    match opts.keys().next() {
        Some(k) => Err(format!("unknown option `{k}`")),
        None => Ok(marker),
    }
}

/// Words separated by spaces; `"..."` groups words (for `of="..."`).
fn split(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated `\"`".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_parses_and_refuses_what_it_does_not_know() {
        assert_eq!(
            parse("policy name=a extends=b,c").unwrap(),
            Marker::Toml {
                kind: TomlKind::Policy,
                name: Some("a".into()),
                extends: vec!["b".into(), "c".into()]
            }
        );
        assert_eq!(
            parse("run db of=\"elevate show k3f9x2ma\" as=bob").unwrap(),
            Marker::Run {
                scenario: "db".into(),
                of: Some("elevate show k3f9x2ma".into()),
                user: Some("bob".into())
            }
        );
        assert_eq!(
            parse("not-run: needs a FIDO authenticator").unwrap(),
            Marker::NotRun("needs a FIDO authenticator".into())
        );
        assert!(parse("not-run").is_err());
        assert!(parse("text:").is_err());
        assert!(parse("polcy").is_err());
        assert!(parse("run").is_err());
        assert!(parse("settings nmae=x").is_err());
    }
}
