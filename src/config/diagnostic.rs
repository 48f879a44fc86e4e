//! Problems found in a file the operator wrote (theme, keymap, profile, runbook,
//! scenario): where (file, line, field), what was expected, and whether the file can still
//! be used. One type, so `config check` prints them all the same way.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file, or a built-in name like `<built-in theme dark>`.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted field path (`styles."ui.text".fg`, `databases[0].max_connections`).
    pub field: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn error(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, file: file.into(), line: None, field: None, message: message.into() }
    }

    pub fn warning(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Self::error(file, message) }
    }

    pub fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {level}: ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// 1-based line number of a byte offset in `text` (for parsers that report spans).
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A label for a compiled-in file, so diagnostics about built-ins read like file paths.
pub fn builtin_path(kind: &str, name: &str) -> PathBuf {
    Path::new(&format!("<built-in {kind} {name}>")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_field_and_message() {
        let d =
            Diagnostic::error("themes/x.toml", "expected a colour like \"#rrggbb\" or a palette name, got \"reddish\"")
                .at_line(Some(4))
                .in_field("\"ui.text\".fg");
        assert_eq!(
            d.to_string(),
            "themes/x.toml:4: error: \"ui.text\".fg: expected a colour like \"#rrggbb\" or a palette name, got \"reddish\""
        );
    }

    #[test]
    fn offsets_map_to_lines() {
        assert_eq!(line_of_offset("a\nb\nc", 0), 1);
        assert_eq!(line_of_offset("a\nb\nc", 2), 2);
        assert_eq!(line_of_offset("a\nb\nc", 4), 3);
    }
}
