//! Reading a TOML file into a serde structure while reporting every shape
//! error (unknown key, wrong type, bad value), not only the first, the way
//! `visudo -c` reports every problem of a file in one run.
//!
//! serde stops at the first error. After each one, the entry the error
//! points to is blanked out of a copy of the text (every character but line
//! breaks becomes a space, so lines and byte offsets stay where they were)
//! and the copy is read again, until it reads or an error cannot be pinned
//! to an entry (a syntax error, for one).
//!
//! A value read from a blanked copy is only good for finding further
//! errors: every caller treats a file with errors as not loaded, so an entry
//! that was dropped never changes what the daemon does.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml_edit::{ImDocument, Item, Table, TableLike, Value};

use super::error::ConfigError;

/// Reads of one file at most: each costs a parse, and nobody reads a
/// hundred messages about one file.
const MAX_ROUNDS: usize = 100;

/// An entry blanked out: its key and where the table holding it starts.
/// A "missing field" error about that key in that table is what blanking
/// caused, not a mistake of the file's author.
struct Dropped {
    key: String,
    table_start: Option<usize>,
}

/// Reads `src` (the text of `path`) as a `T`, collecting every shape error.
///
/// Returns the value read once the bad entries were dropped (`None` when
/// the text could not be read even so) and the errors, in the order serde
/// met them. With no errors, the value is exactly what `toml::from_str`
/// gives.
pub(crate) fn read_all<T: DeserializeOwned>(
    path: &Path,
    src: &str,
) -> (Option<T>, Vec<ConfigError>) {
    let mut text = src.to_owned();
    let mut errors = Vec::new();
    let mut dropped: Vec<Dropped> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let err = match toml::from_str::<T>(&text) {
            Ok(value) => return (Some(value), errors),
            Err(e) => e,
        };
        let at = err.span().map(|s| s.start);
        let caused_by_us = dropped.iter().any(|d| {
            d.table_start.is_some()
                && d.table_start == at
                && err
                    .message()
                    .starts_with(&format!("missing field `{}`", d.key))
        });
        if !caused_by_us {
            errors.push(ConfigError::toml(path, &text, &err));
        }
        match at.and_then(|pos| without_entry_at(&text, pos)) {
            Some((next, gone)) => {
                text = next;
                dropped.push(gone);
            }
            None => break,
        }
    }
    if errors.is_empty() {
        // Only reached when every error was one of ours, which blanking
        // cannot keep causing; say so rather than pass the file.
        errors.push(ConfigError::file(path, "could not be read"));
    }
    (None, errors)
}

/// `text` with the entry at byte `pos` blanked out, or `None` when no entry
/// is there or what is left would not parse (then the search stops rather
/// than reporting an error of its own making).
fn without_entry_at(text: &str, pos: usize) -> Option<(String, Dropped)> {
    let doc = ImDocument::parse(text).ok()?;
    let root = doc.as_table();
    let hit = find(root, pos, text, false, root.span().map(|s| s.start))?;
    let mut bytes = text.as_bytes().to_vec();
    for r in hit.ranges {
        for b in bytes.get_mut(r)? {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    let out = String::from_utf8(bytes).ok()?;
    (out != text && ImDocument::parse(out.as_str()).is_ok()).then_some((out, hit.dropped))
}

/// What [`find`] found: the byte ranges to blank and what they were.
struct Hit {
    ranges: Vec<Range<usize>>,
    dropped: Dropped,
}

/// The byte ranges of the innermost entry of `t` that holds `pos`: a
/// `key = value` line, an entry of an inline table (with one comma next
/// to it), or a whole `[table]` with its sub-tables. `inline`: `t` is an
/// inline table; `table_start`: where `t` (or the table a dotted key is
/// part of) starts.
fn find(
    t: &dyn TableLike,
    pos: usize,
    text: &str,
    inline: bool,
    table_start: Option<usize>,
) -> Option<Hit> {
    for (name, item) in t.iter() {
        let key_span = t.get_key_value(name).and_then(|(k, _)| k.span());
        let on_key = key_span.as_ref().is_some_and(|s| s.contains(&pos));
        let hit = |ranges| {
            Some(Hit {
                ranges,
                dropped: Dropped {
                    key: name.to_owned(),
                    table_start,
                },
            })
        };
        match item {
            Item::None => {}
            Item::Table(sub) if !sub.is_dotted() => {
                let start = sub.span().map(|s| s.start);
                if let Some(found) = find(sub, pos, text, false, start) {
                    return Some(found);
                }
                if on_key || sub.span().is_some_and(|s| s.contains(&pos)) {
                    return hit(table_ranges(sub));
                }
            }
            Item::ArrayOfTables(list) => {
                for sub in list.iter() {
                    let start = sub.span().map(|s| s.start);
                    if let Some(found) = find(sub, pos, text, false, start) {
                        return Some(found);
                    }
                    if sub.span().is_some_and(|s| s.contains(&pos)) {
                        return hit(table_ranges(sub));
                    }
                }
                if on_key {
                    return hit(list.iter().flat_map(table_ranges).collect());
                }
            }
            // A value, an inline table or a dotted key (`sudo.runas = ..`).
            Item::Value(_) | Item::Table(_) => {
                if let Some(sub) = item.as_table_like() {
                    let found = match item {
                        Item::Value(v) if !sub.is_dotted() => {
                            find(sub, pos, text, true, v.span().map(|s| s.start))
                        }
                        _ => find(sub, pos, text, inline, table_start),
                    };
                    if found.is_some() {
                        return found;
                    }
                }
                let (Some(key), Some(end)) = (key_span, item_end(item)) else {
                    continue;
                };
                // In a [table] an entry is a line of its own: start at the
                // line, so that the rest of a dotted key goes too.
                let start = if inline {
                    key.start
                } else {
                    text.get(..key.start)
                        .and_then(|b| b.rfind('\n'))
                        .map_or(0, |i| i + 1)
                };
                if on_key || (start..end).contains(&pos) {
                    let range = start..end;
                    return hit(vec![if inline {
                        with_a_comma(text, range)
                    } else {
                        range
                    }]);
                }
            }
        }
    }
    None
}

/// Where `item` ends in the text (a dotted key's table has no span of its
/// own: it ends with its last value).
fn item_end(item: &Item) -> Option<usize> {
    match item {
        Item::Value(v) => value_end(v),
        Item::Table(t) => t.iter().filter_map(|(_, i)| item_end(i)).max(),
        Item::ArrayOfTables(_) | Item::None => None,
    }
}

fn value_end(v: &Value) -> Option<usize> {
    v.span().map(|s| s.end).or_else(|| {
        v.as_inline_table()
            .and_then(|t| t.iter().filter_map(|(_, v)| value_end(v)).max())
    })
}

/// A `[table]`: its header and lines, and every sub-table under it.
fn table_ranges(t: &Table) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = t.span().into_iter().collect();
    for (_, item) in t.iter() {
        match item {
            Item::Table(sub) => out.extend(table_ranges(sub)),
            Item::ArrayOfTables(list) => out.extend(list.iter().flat_map(table_ranges)),
            Item::Value(_) | Item::None => {}
        }
    }
    out
}

/// An inline table entry and the comma after it, or else the one before it
/// (the last entry), so that the table stays valid TOML.
fn with_a_comma(text: &str, r: Range<usize>) -> Range<usize> {
    let after = text.get(r.end..).unwrap_or("");
    let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
    if after[gap..].starts_with(',') {
        return r.start..r.end + gap + 1;
    }
    let before = text.get(..r.start).unwrap_or("");
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.ends_with(',') {
        return trimmed.len() - 1..r.end;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
        #[serde(default)]
        count: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        #[serde(default)]
        one: Option<Inner>,
        #[serde(default)]
        many: BTreeMap<String, Inner>,
        #[serde(default)]
        list: Vec<Inner>,
    }

    fn shown(src: &str) -> (bool, Vec<String>) {
        let (v, e) = read_all::<File>(Path::new("f.toml"), src);
        (v.is_some(), e.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_good_file_reads_as_toml_reads_it() {
        let src = "one = { name = \"a\", count = 2 }\n[many.x]\nname = \"b\"\n";
        let (v, e) = read_all::<File>(Path::new("f.toml"), src);
        assert!(e.is_empty(), "{e:?}");
        let v = v.unwrap();
        assert_eq!(v.one.unwrap().count, 2);
        assert_eq!(v.many["x"].name, "b");
    }

    #[test]
    fn every_shape_error_is_reported_with_its_line() {
        let src = "\
one = { name = \"a\", cuont = 1, count = \"x\" }
[many.x]
name = \"b\"
colour = \"red\"
count = -1

[many.y]
name = 7
sub.key = 1

[[list]]
count = 1

[[list]]
name = \"ok\"
extra = true
";
        let (read, got) = shown(src);
        assert!(read, "the rest still reads");
        let want = [
            ("f.toml:1:", "unknown field `cuont`"),
            ("f.toml:1:", "invalid type: string \"x\", expected u32"),
            ("f.toml:4:", "unknown field `colour`"),
            ("f.toml:5:", "invalid value: integer `-1`, expected u32"),
            ("f.toml:8:", "invalid type: integer `7`, expected a string"),
            ("f.toml:9:", "unknown field `sub`"),
            ("f.toml:11:", "missing field `name`"),
            ("f.toml:16:", "unknown field `extra`"),
        ];
        let mut sorted = got.clone();
        sorted.sort_by_key(|s| {
            s.split(':')
                .nth(1)
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0)
        });
        assert_eq!(sorted.len(), want.len(), "{got:#?}");
        for (g, (at, part)) in sorted.iter().zip(want) {
            assert!(
                g.starts_with(at) && g.contains(part),
                "{g:?}: want {at} {part}"
            );
        }
    }

    #[test]
    fn an_unknown_table_goes_with_its_sub_tables() {
        let src = "[mnay.x]\nname = \"a\"\n[mnay.x.deep]\nk = 1\n[many.y]\nname = 2\n";
        let (_, got) = shown(src);
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(
            got[0].starts_with("f.toml:1: unknown field `mnay`"),
            "{got:?}"
        );
        assert!(got[1].starts_with("f.toml:6: invalid type"), "{got:?}");
    }

    #[test]
    fn the_last_entry_of_an_inline_table_takes_the_comma_before_it() {
        let src = "one = { name = \"a\", bad = 1 }\nmany = { x = { name = 1 } }\n";
        let (read, got) = shown(src);
        assert!(read);
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got[1].starts_with("f.toml:2: invalid type"), "{got:?}");
    }

    #[test]
    fn a_syntax_error_stops_the_file() {
        let (read, got) = shown("one = { name = \"a\", bad = 1 }\n[many\n");
        assert!(!read);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(got[0].starts_with("f.toml:2:"), "{got:?}");
    }

    #[test]
    fn blanking_keeps_lines_and_offsets() {
        let src = "a = 1\nb = \"\"\"x\ny\"\"\"\nc = 3\n";
        let doc = ImDocument::parse(src).unwrap();
        let pos = doc.as_table().get("b").unwrap().span().unwrap().start;
        let (out, gone) = without_entry_at(src, pos).unwrap();
        assert_eq!(gone.key, "b");
        assert_eq!(out.len(), src.len());
        assert_eq!(out.lines().count(), src.lines().count());
        assert_eq!(out.lines().last(), Some("c = 3"));
        assert!(!out.contains('b'), "{out:?}");
    }
}
