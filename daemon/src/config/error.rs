//! Configuration errors: each names the file and, where known, the line.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a settings, policy or attribute file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line, when the problem has a place.
    pub line: Option<u32>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    /// An error at a line.
    pub fn at(file: &Path, line: u32, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: Some(line),
            message: message.into(),
        }
    }

    /// A TOML syntax or structure error, at the line the parser points to,
    /// with the parser's message kept on one line.
    pub fn toml(file: &Path, src: &str, err: &toml::de::Error) -> Self {
        let mut message = err
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        // The parser has no words for a value missing at the very end
        // (`key =` as the last line); an empty message helps nobody.
        if message.is_empty() {
            message = if err.span().is_some_and(|s| s.start >= src.len()) {
                "the file ends where a value is expected".to_owned()
            } else {
                "invalid TOML here".to_owned()
            };
        }
        match err.span() {
            Some(span) => Self::at(file, line_of(src, span.start), message),
            None => Self::file(file, message),
        }
    }

    /// An error about a whole file.
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line number of a byte offset in `src`.
#[must_use]
pub fn line_of(src: &str, offset: usize) -> u32 {
    let end = offset.min(src.len());
    let n = src.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

/// Several problems, printed one per line like `visudo -c`.
#[derive(Debug, Clone, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
