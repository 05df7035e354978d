//! Code blocks of the documentation: fenced blocks of Markdown files and
//! `.EX`/`.EE` or `.nf`/`.fi` blocks of hand-written manual pages, each
//! with the `doc-check` marker written right before it (if any).

use std::path::Path;

/// The marker prefix in both sources: `<!-- doc-check: ... -->` in
/// Markdown, `.\" doc-check: ...` in roff.
const MARK: &str = "doc-check:";

/// One code block as the reader sees it.
#[derive(Debug, Clone)]
pub struct Block {
    /// The file, relative to the documentation root (`docs/cli.md`).
    pub file: String,
    /// 1-based line of the block's first content line.
    pub line: usize,
    /// The fence's info string (`toml`, `sh`, ...); empty for roff.
    pub lang: String,
    /// Content lines, with the fence's indentation removed (roff escapes
    /// resolved).
    pub lines: Vec<String>,
    /// The marker's text after `doc-check:`, and its line.
    pub marker: Option<(usize, String)>,
}

impl Block {
    /// The content as one text, each line ended by a newline.
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// Blocks of `file` (relative to `root`): Markdown unless the name ends in
/// a manual section (`.1` ... `.8`).
pub fn blocks(root: &Path, file: &str) -> Result<Vec<Block>, String> {
    let text = std::fs::read_to_string(root.join(file)).map_err(|e| format!("{file}: {e}"))?;
    let is_man = file
        .rsplit_once('.')
        .is_some_and(|(_, ext)| ext.len() == 1 && ext.chars().all(|c| c.is_ascii_digit()));
    Ok(if is_man {
        roff(file, &text)
    } else {
        markdown(file, &text)
    })
}

/// A Markdown marker line: `<!-- doc-check: ... -->`, possibly indented.
fn md_marker(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t.strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    inner.strip_prefix(MARK).map(|m| m.trim().to_owned())
}

fn markdown(file: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let t = l.trim_start();
        let Some(info) = t.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let indent = l.len() - t.len();
        let marker = i
            .checked_sub(1)
            .and_then(|p| md_marker(lines[p]).map(|m| (p + 1, m)));
        let mut body = Vec::new();
        let mut j = i + 1;
        while j < lines.len() && !lines[j].trim_start().starts_with("```") {
            let b = lines[j];
            // Content keeps what is beyond the fence's own indentation.
            let cut = b.len() - b.trim_start().len();
            body.push(b[cut.min(indent)..].to_owned());
            j += 1;
        }
        out.push(Block {
            file: file.to_owned(),
            line: i + 2,
            lang: info.trim().to_owned(),
            lines: body,
            marker,
        });
        i = j + 1;
    }
    out
}

/// A roff marker line: `.\" doc-check: ...`.
fn roff_marker(line: &str) -> Option<String> {
    let inner = line.strip_prefix(".\\\"")?.trim();
    inner.strip_prefix(MARK).map(|m| m.trim().to_owned())
}

/// The text a reader sees for one roff line of an example (the escapes
/// that occur in examples).
pub fn unescape_roff(line: &str) -> String {
    line.replace("\\-", "-")
        .replace("\\(dq", "\"")
        .replace("\\(aq", "'")
        .replace("\\&", "")
        .replace("\\e", "\\")
        .replace("\\\\", "\\")
}

fn roff(file: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let end = match lines[i] {
            ".EX" => ".EE",
            ".nf" => ".fi",
            _ => {
                i += 1;
                continue;
            }
        };
        let marker = i
            .checked_sub(1)
            .and_then(|p| roff_marker(lines[p]).map(|m| (p + 1, m)));
        let mut body = Vec::new();
        let mut j = i + 1;
        while j < lines.len() && lines[j] != end {
            body.push(unescape_roff(lines[j]));
            j += 1;
        }
        out.push(Block {
            file: file.to_owned(),
            line: i + 2,
            lang: String::new(),
            lines: body,
            marker,
        });
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_blocks_carry_their_marker_line_and_indentation_removed() {
        let text =
            "x\n<!-- doc-check: policy name=a -->\n  ```toml\n  [roles.a]\n  ```\n```\n$ y\n```\n";
        let b = markdown("R.md", text);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].line, 4);
        assert_eq!(b[0].lang, "toml");
        assert_eq!(b[0].lines, vec!["[roles.a]"]);
        assert_eq!(b[0].marker, Some((2, "policy name=a".to_owned())));
        assert_eq!(b[1].marker, None);
        assert_eq!(b[1].lines, vec!["$ y"]);
    }

    #[test]
    fn roff_examples_are_unescaped_and_marked_by_a_comment() {
        let text = ".RS\n.\\\" doc-check: settings\n.nf\n[login]\na = \"\\-x\"\n.fi\n.EX\nb\n.EE\n";
        let b = roff("p.8", text);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].line, 4);
        assert_eq!(b[0].lines, vec!["[login]", "a = \"-x\""]);
        assert_eq!(b[0].marker, Some((2, "settings".to_owned())));
        assert_eq!(b[1].marker, None);
    }
}
