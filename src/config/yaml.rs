//! YAML input as operators write it (scenarios, runbooks): multi-document files split at `---`, each
//! document parsed on its own so every error can name the file, the line (counted in the
//! whole file) and the dotted field it is about.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::config::diagnostic::Diagnostic;

/// One YAML document of a file: its text and the 1-based line it starts on.
#[derive(Clone, Debug)]
pub struct Document {
    pub text: String,
    pub first_line: usize,
}

/// Splits a stream at `---` lines (a document marker at column 0 always starts a new
/// document in YAML, even after a block scalar) and drops empty documents.
pub fn split_documents(text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut first_line = 1;
    for (index, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ") || line == "..." || line.starts_with("---\t");
        if is_marker {
            push_document(&mut docs, &mut current, first_line);
            first_line = index + 2;
            // `--- {inline: doc}` keeps its content on the marker line.
            if let Some(rest) = line.strip_prefix("--- ") {
                current.push_str(rest);
                current.push('\n');
                first_line = index + 1;
            }
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    push_document(&mut docs, &mut current, first_line);
    docs
}

fn push_document(docs: &mut Vec<Document>, current: &mut String, first_line: usize) {
    let has_content = current.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    if has_content {
        docs.push(Document { text: std::mem::take(current), first_line });
    } else {
        current.clear();
    }
}

/// Parses one document into `T`; a failure becomes a diagnostic with the file's line
/// number and the field the error is in.
pub fn parse<T: DeserializeOwned>(file: &Path, doc: &Document) -> Result<T, Box<Diagnostic>> {
    serde_saphyr::from_str::<T>(&doc.text).map_err(|e| Box::new(diagnostic_from(file, doc, &e)))
}

pub fn diagnostic_from(file: &Path, doc: &Document, error: &serde_saphyr::Error) -> Diagnostic {
    let location = error.location();
    let local_line = location.map(|l| l.line() as usize);
    let mut message = error.without_snippet().render();
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    let mut diagnostic =
        Diagnostic::error(file.to_path_buf(), message).at_line(local_line.map(|l| l + doc.first_line - 1));
    if let Some(field) = local_line.and_then(|l| field_path_at(&doc.text, l)) {
        diagnostic = diagnostic.in_field(field);
    }
    diagnostic
}

/// A semantic problem found after parsing, pointed at the line of `field` (dotted, list
/// indexes as `[n]`) when it can be found in the document, else at the document start.
pub fn problem(file: &Path, doc: &Document, field: &str, message: impl Into<String>) -> Box<Diagnostic> {
    let line = line_of_nearest(&doc.text, field).unwrap_or(1) + doc.first_line - 1;
    Box::new(Diagnostic::error(file.to_path_buf(), message).at_line(Some(line)).in_field(field))
}

/// A problem at a known line of the file (e.g. from a `Spanned` value).
pub fn problem_at(
    file: &Path,
    doc: &Document,
    local_line: usize,
    field: &str,
    message: impl Into<String>,
) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error(file.to_path_buf(), message).at_line(Some(local_line + doc.first_line - 1)).in_field(field),
    )
}

#[derive(Debug)]
struct Line<'a> {
    indent: usize,
    /// The key on this line, if it holds `key:`.
    key: Option<&'a str>,
    /// Whether the line starts a list item (`- `), and the indent of its content.
    item: Option<usize>,
}

fn analyse(line: &str) -> Option<Line<'_>> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let indent = line.len() - trimmed.len();
    let (item, content, content_indent) = match trimmed.strip_prefix("- ").or_else(|| trimmed.strip_prefix("-\t")) {
        Some(rest) => {
            let rest_trim = rest.trim_start();
            let ci = indent + 2 + (rest.len() - rest_trim.len());
            (Some(ci), rest_trim, ci)
        }
        None if trimmed == "-" => (Some(indent + 2), "", indent + 2),
        None => (None, trimmed, indent),
    };
    let _ = content_indent;
    let key = content.split_once(':').and_then(|(k, rest)| {
        let k = k.trim().trim_matches('"').trim_matches('\'');
        let plain = !k.is_empty() && !k.contains(' ') && !k.starts_with('{') && !k.starts_with('[');
        (plain && (rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t'))).then_some(k)
    });
    Some(Line { indent, key, item })
}

/// The dotted path of the field on 1-based `line` of a block-style YAML document
/// (`spec.nodes[1].cpu`). Best effort: flow collections report their parent field.
pub fn field_path_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let target = line.checked_sub(1)?;
    let mut segments: Vec<String> = Vec::new();
    let mut limit = usize::MAX;
    let mut index = target.min(lines.len().checked_sub(1)?);
    loop {
        if let Some(l) = analyse(lines[index]) {
            let key_indent = l.item.unwrap_or(l.indent);
            if l.item.is_some() && l.indent < limit {
                // A list item containing the path so far: its index among siblings.
                if let Some(key) = l.key
                    && key_indent < limit
                {
                    segments.push(key.to_string());
                }
                segments.push(format!("[{}]", item_index(&lines, index, l.indent)));
                limit = l.indent;
            } else if let Some(key) = l.key
                && key_indent < limit
            {
                segments.push(key.to_string());
                limit = key_indent;
            }
            if limit == 0 {
                break;
            }
        }
        if index == 0 {
            break;
        }
        index -= 1;
    }
    if segments.is_empty() {
        return None;
    }
    let mut out = String::new();
    for seg in segments.iter().rev() {
        if seg.starts_with('[') || out.is_empty() {
            out.push_str(seg);
        } else {
            out.push('.');
            out.push_str(seg);
        }
    }
    Some(out)
}

fn item_index(lines: &[&str], at: usize, indent: usize) -> usize {
    let mut count = 0;
    for line in lines[..at].iter().rev() {
        let Some(l) = analyse(line) else { continue };
        if l.indent < indent || (l.indent == indent && l.item.is_none()) {
            break;
        }
        if l.indent == indent && l.item.is_some() {
            count += 1;
        }
    }
    count
}

/// The 1-based line of a dotted field (`spec.template.spec.containers[0].image`), found by
/// walking the block structure; `None` when the document does not spell it out.
pub fn line_of_field(text: &str, field: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0usize;
    let mut min_indent = 0usize;
    let mut found = None;
    for segment in split_field(field) {
        match segment {
            Segment::Key(key) => {
                let (at, indent) = (from..lines.len()).find_map(|i| {
                    let l = analyse(lines[i])?;
                    let key_indent = l.item.unwrap_or(l.indent);
                    (l.key == Some(key) && key_indent >= min_indent).then_some((i, key_indent))
                })?;
                found = Some(at + 1);
                from = at;
                min_indent = indent + 1;
            }
            Segment::Index(n) => {
                // Items of this list sit at the indent of its first item; deeper ones
                // belong to lists inside them.
                let mut seen = 0;
                let mut list_indent = None;
                let (at, content) = (from + 1..lines.len()).find_map(|i| {
                    let l = analyse(lines[i])?;
                    let item = l.item?;
                    if l.indent < min_indent.saturating_sub(1) || list_indent.is_some_and(|li| l.indent != li) {
                        return None;
                    }
                    list_indent = Some(l.indent);
                    if seen == n {
                        return Some((i, item));
                    }
                    seen += 1;
                    None
                })?;
                found = Some(at + 1);
                from = at;
                min_indent = content;
            }
        }
    }
    found
}

/// The line of `field`, or of the nearest field around it that the document spells out
/// in block style (`scale: {service: api, replicas: x}` puts `scale.replicas` on the
/// line of `scale`).
pub fn line_of_nearest(text: &str, field: &str) -> Option<usize> {
    let mut field = field;
    loop {
        if let Some(line) = line_of_field(text, field) {
            return Some(line);
        }
        let cut = field.rfind(['.', '['])?;
        field = &field[..cut];
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_field(field: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in field.split('.') {
        let (key, rest) = part.split_once('[').map(|(k, r)| (k, Some(r))).unwrap_or((part, None));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        if let Some(rest) = rest {
            for idx in rest.split('[') {
                if let Ok(n) = idx.trim_end_matches(']').parse() {
                    out.push(Segment::Index(n));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_their_starting_line() {
        let docs = split_documents("a: 1\n---\n# comment only\n---\nb: 2\nc: 3\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].first_line, 1);
        assert_eq!(docs[1].first_line, 5);
    }

    #[test]
    fn field_path_names_nested_keys_and_list_items() {
        let text = "spec:\n  nodes:\n    - name: a\n      cpu: 1\n    - name: b\n      cpux: 2\n";
        assert_eq!(field_path_at(text, 6).as_deref(), Some("spec.nodes[1].cpux"));
        assert_eq!(field_path_at(text, 3).as_deref(), Some("spec.nodes[0].name"));
        assert_eq!(field_path_at(text, 1).as_deref(), Some("spec"));
    }

    #[test]
    fn line_of_field_walks_the_same_structure() {
        let text = "spec:\n  nodes:\n    - name: a\n      cpu: 1\n    - name: b\n      cpu: 2\n  timeline: []\n";
        assert_eq!(line_of_field(text, "spec.nodes[1].cpu"), Some(6));
        assert_eq!(line_of_field(text, "spec.timeline"), Some(7));
        assert_eq!(line_of_field(text, "spec.missing"), None);
        assert_eq!(line_of_nearest(text, "spec.nodes[1].cpu.deeper"), Some(6));
        assert_eq!(line_of_nearest("a:\n  b: {c: 1}\n", "a.b.c"), Some(2));
        let nested = "steps:\n  - id: a\n    gates:\n      - x\n      - y\n  - id: b\n";
        assert_eq!(line_of_field(nested, "steps[1].id"), Some(6), "items of inner lists are not counted");
    }

    #[test]
    fn parse_errors_carry_file_line_and_field() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Node {
            name: String,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Doc {
            nodes: Vec<Node>,
        }
        let docs = split_documents("x: 1\n---\nnodes:\n  - name: a\n  - nmae: b\n");
        let err = parse::<Doc>(Path::new("s.yaml"), &docs[1]).unwrap_err();
        assert_eq!(err.line, Some(5));
        assert_eq!(err.field.as_deref(), Some("nodes[1].nmae"));
        assert!(err.message.contains("unknown field `nmae`"), "{}", err.message);
    }
}
