//! Shared plumbing for the TOML files operators write (themes, keymaps): where a named file
//! is found (user folder first, then compiled in), reading it, and parsing it with spans so
//! every problem can name its line.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::diagnostic::{Diagnostic, builtin_path, line_of_offset};

/// Where a theme or keymap comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Builtin(&'static str),
    User(PathBuf),
}

/// A file's text and the label diagnostics use for it.
pub(crate) struct SourceFile {
    /// The name other files refer to it by (`dark`, `vim`): the built-in name or the file stem.
    pub name: String,
    pub origin: Origin,
    pub label: PathBuf,
    pub text: Cow<'static, str>,
}

/// Whether a `--theme`/`--keymap` argument is a file rather than a name.
pub(crate) fn looks_like_path(selector: &str) -> bool {
    selector.contains('/') || selector.contains('\\') || selector.ends_with(".toml")
}

/// The file a selector stands for, to label problems with it: the path itself, or where a
/// user file of that name would be.
pub(crate) fn selector_label(selector: &str, user_dir: &Path) -> PathBuf {
    if looks_like_path(selector) { PathBuf::from(selector) } else { user_dir.join(format!("{selector}.toml")) }
}

/// Finds `selector` (a name or a path). A name is looked up in `user_dir` first, unless
/// `skip_user` (a user file that builds on the built-in of its own name), then among `builtins`.
pub(crate) fn locate(
    selector: &str,
    user_dir: &Path,
    builtins: &'static [(&'static str, &'static str)],
    skip_user: bool,
) -> Option<Origin> {
    if looks_like_path(selector) {
        return Some(Origin::User(PathBuf::from(selector)));
    }
    if !skip_user && !selector.is_empty() {
        let candidate = user_dir.join(format!("{selector}.toml"));
        if candidate.is_file() {
            return Some(Origin::User(candidate));
        }
    }
    builtins.iter().find(|(name, _)| *name == selector).map(|(name, _)| Origin::Builtin(name))
}

/// Reads the file behind `origin`; `kind` (`theme`, `keymap`) labels built-ins.
pub(crate) fn read(
    origin: &Origin,
    kind: &str,
    builtins: &'static [(&'static str, &'static str)],
) -> Result<SourceFile, Diagnostic> {
    match origin {
        Origin::Builtin(name) => {
            let text = builtins.iter().find(|(n, _)| n == name).map(|(_, t)| *t).unwrap_or_default();
            Ok(SourceFile {
                name: (*name).to_string(),
                origin: origin.clone(),
                label: builtin_path(kind, name),
                text: Cow::Borrowed(text),
            })
        }
        Origin::User(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Diagnostic::error(path, format!("cannot read this {kind} file: {e}")))?;
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(SourceFile { name, origin: origin.clone(), label: path.clone(), text: Cow::Owned(text) })
        }
    }
}

impl SourceFile {
    pub fn line(&self, span: Range<usize>) -> usize {
        line_of_offset(&self.text, span.start)
    }

    /// Parses the whole document; a syntax error names its line.
    pub fn parse(&self) -> Result<DeTable<'_>, Diagnostic> {
        match DeTable::parse(&self.text) {
            Ok(table) => Ok(table.into_inner()),
            Err(e) => Err(Diagnostic::error(&self.label, format!("invalid TOML: {}", e.message().trim()))
                .at_line(e.span().map(|s| self.line(s)))),
        }
    }

    pub fn error(&self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(&self.label, message).at_line(Some(self.line(span))).in_field(field)
    }

    pub fn warning(&self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(&self.label, message).at_line(Some(self.line(span))).in_field(field)
    }
}

pub(crate) type Entry<'a, 'i> = (&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>);

/// The entries of a table in the order they appear in the file, so "first at line N"
/// messages and "the later one wins" rules follow what the operator reads.
pub(crate) fn entries_in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<Entry<'a, 'i>> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// How a TOML value is named in "expected …, got …" messages.
pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// A key as written in a field path: bare when it can be, quoted otherwise.
pub(crate) fn quote_key(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}
