//! "Change it in git": the edit of a manifest in a local checkout that sets a workload's
//! replicas or a container's image, found by reading the YAML documents and edited line
//! by line (comments, order and quoting of everything else stay as they were), and the
//! patch to add when no checkout is given. Pure: the caller reads and writes the files.

use serde_json::Value;

/// What the edit sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Replicas(i32),
    /// Every `image:` of the document that names `old` becomes `new`.
    Image {
        old: String,
        new: String,
    },
}

/// Which workload: `Deployment`/`StatefulSet`, name, namespace.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
}

/// One changed line (1-based), before and after; `before` is empty for an added line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineEdit {
    pub line: usize,
    pub before: String,
    pub after: String,
}

/// The file's text with `field` set on `target`, and the lines changed; `None` when no
/// document of the file is that workload. A document naming no namespace matches any (a
/// Kustomization sets it). An empty list of edits: git already says so.
pub fn edit(text: &str, target: Target<'_>, field: &Field) -> Option<(String, Vec<LineEdit>)> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut edits = Vec::new();
    let mut found = false;
    let mut inserted = 0usize;
    for (start, end) in documents(&lines.clone()) {
        let (start, end) = (start + inserted, end + inserted);
        let doc = lines[start..end].join("\n");
        let Ok(value) = serde_saphyr::from_str::<Value>(&doc) else { continue };
        let is_it = value["kind"] == target.kind
            && value["metadata"]["name"] == target.name
            && value["metadata"]["namespace"].as_str().is_none_or(|ns| ns == target.namespace);
        if !is_it {
            continue;
        }
        found = true;
        match field {
            Field::Replicas(n) => {
                if let Some(added) = set_replicas(&mut lines, start, end, *n, &mut edits) {
                    inserted += added;
                }
            }
            Field::Image { old, new } => set_image(&mut lines, start, end, old, new, &mut edits),
        }
    }
    if !found {
        return None;
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Some((out, edits))
}

/// The line ranges of the documents of a stream (split at `---`).
fn documents(lines: &[String]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, line) in lines.iter().enumerate() {
        if line == "---" || line.starts_with("--- ") {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, lines.len()));
    out.into_iter().filter(|(s, e)| s < e).collect()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `key: value  # comment` → the value's byte range.
fn value_range(line: &str, key: &str) -> Option<(usize, usize)> {
    let at = line.find(&format!("{key}:"))?;
    let from = at + key.len() + 1;
    let rest = &line[from..];
    let lead = rest.len() - rest.trim_start().len();
    let value = rest.trim_start();
    let len = value.find(" #").unwrap_or(value.len());
    let len = value[..len].trim_end().len();
    Some((from + lead, from + lead + len))
}

/// Sets `spec.replicas` (added under `spec:` when absent); returns the lines added.
fn set_replicas(lines: &mut Vec<String>, start: usize, end: usize, n: i32, edits: &mut Vec<LineEdit>) -> Option<usize> {
    let spec = (start..end).find(|&i| lines[i].trim_end() == "spec:" && indent(&lines[i]) == 0)?;
    let child = (spec + 1..end)
        .find(|&i| !lines[i].trim().is_empty() && !lines[i].trim_start().starts_with('#'))
        .map(|i| indent(&lines[i]))
        .filter(|&d| d > 0)
        .unwrap_or(2);
    let block_end = (spec + 1..end)
        .find(|&i| !lines[i].trim().is_empty() && indent(&lines[i]) == 0 && !lines[i].starts_with('#'))
        .unwrap_or(end);
    let at =
        (spec + 1..block_end).find(|&i| indent(&lines[i]) == child && lines[i].trim_start().starts_with("replicas:"));
    match at {
        Some(i) => {
            let (from, to) = value_range(&lines[i], "replicas")?;
            if lines[i][from..to] == n.to_string() {
                return Some(0);
            }
            let before = lines[i].clone();
            lines[i].replace_range(from..to, &n.to_string());
            edits.push(LineEdit { line: i + 1, before, after: lines[i].clone() });
            Some(0)
        }
        None => {
            let line = format!("{}replicas: {n}", " ".repeat(child));
            lines.insert(spec + 1, line.clone());
            edits.push(LineEdit { line: spec + 2, before: String::new(), after: line });
            Some(1)
        }
    }
}

fn set_image(lines: &mut [String], start: usize, end: usize, old: &str, new: &str, edits: &mut Vec<LineEdit>) {
    for (i, line) in lines.iter_mut().enumerate().take(end).skip(start) {
        let Some((from, to)) = value_range(line, "image") else { continue };
        let value = line[from..to].trim_matches(|c| c == '"' || c == '\'');
        if value != old || !line.trim_start().trim_start_matches("- ").starts_with("image:") {
            continue;
        }
        let quote = if line[from..].starts_with('"') { "\"" } else { "" };
        let before = line.clone();
        line.replace_range(from..to, &format!("{quote}{new}{quote}"));
        edits.push(LineEdit { line: i + 1, before, after: line.clone() });
    }
}

/// The patch to put in git when no checkout is given: a strategic-merge patch a
/// Kustomization's `patches:` (or the manifest itself) takes.
pub fn patch_yaml(target: Target<'_>, field: &Field, container: Option<&str>) -> String {
    let head = format!(
        "apiVersion: apps/v1\nkind: {}\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n",
        target.kind, target.name, target.namespace
    );
    match field {
        Field::Replicas(n) => format!("{head}  replicas: {n}\n"),
        Field::Image { new, .. } => format!(
            "{head}  template:\n    spec:\n      containers:\n        - name: {}\n          image: {new}\n",
            container.unwrap_or("app")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# the shop's api
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2  # autoscaled in prod
  template:
    spec:
      containers:
        - name: api
          image: \"ghcr.io/acme/api:1.0\"
";

    const API: Target<'static> = Target { kind: "Deployment", name: "api", namespace: "shop" };

    #[test]
    fn replicas_are_edited_in_place_keeping_the_comment() {
        let (text, edits) = edit(FILE, API, &Field::Replicas(5)).unwrap();
        assert_eq!(
            edits,
            [LineEdit {
                line: 13,
                before: "  replicas: 2  # autoscaled in prod".into(),
                after: "  replicas: 5  # autoscaled in prod".into()
            }]
        );
        assert_eq!(text.lines().count(), FILE.lines().count());
        assert!(text.ends_with('\n'));
        let (_, none) = edit(&text, API, &Field::Replicas(5)).unwrap();
        assert!(none.is_empty(), "git already says 5");
        assert!(edit(FILE, Target { name: "web", ..API }, &Field::Replicas(5)).is_none());
        assert!(edit(FILE, Target { namespace: "other", ..API }, &Field::Replicas(5)).is_some(), "no namespace in git");
    }

    #[test]
    fn missing_replicas_are_added_and_images_keep_their_quotes() {
        let no_replicas = FILE.replace("  replicas: 2  # autoscaled in prod\n", "");
        let (text, edits) = edit(&no_replicas, API, &Field::Replicas(3)).unwrap();
        assert_eq!(edits[0].after, "  replicas: 3");
        assert!(text.contains("spec:\n  replicas: 3\n  template:"));
        let image = Field::Image { old: "ghcr.io/acme/api:1.0".into(), new: "ghcr.io/acme/api:1.1".into() };
        let (text, edits) = edit(FILE, API, &image).unwrap();
        assert_eq!(edits.len(), 1);
        assert!(text.contains("image: \"ghcr.io/acme/api:1.1\""));
    }

    #[test]
    fn the_patch_names_the_workload() {
        assert_eq!(
            patch_yaml(API, &Field::Replicas(4), None),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  replicas: 4\n"
        );
    }
}
