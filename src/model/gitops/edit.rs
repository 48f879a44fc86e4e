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
/// document of the file is that workload (or that HelmRelease, whose values are edited).
/// A document naming no namespace matches any (a Kustomization sets it). An empty list of
/// edits: git already says so.
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
        let Some(sets) = settings(&value, target, field) else { continue };
        found = true;
        for (path, to) in sets {
            // A path through a flow mapping or a list, or no line naming the image: this
            // file does not say it in a way the cockpit edits.
            inserted += set_path(&mut lines, start, end + added_since(&edits, start), &path, &to, &mut edits)?;
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

/// Lines added (edits with no `before`) at or after `start`: a document grows as keys are added.
fn added_since(edits: &[LineEdit], start: usize) -> usize {
    edits.iter().filter(|e| e.before.is_empty() && e.line > start).count()
}

/// The keys to set in one document, and to what: a workload's `spec.replicas` or image
/// lines; a HelmRelease's values as charts conventionally name them (`replicaCount`;
/// `image.repository` + `image.tag`, or `image` as one string). `None`: the document sets
/// no field the cockpit recognizes for this change.
fn settings(doc: &Value, target: Target<'_>, field: &Field) -> Option<Vec<(Vec<String>, String)>> {
    let path = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<String>>();
    match (target.kind, field) {
        (HELM_RELEASE, Field::Replicas(n)) => Some(vec![(path(&["spec", "values", "replicaCount"]), n.to_string())]),
        (HELM_RELEASE, Field::Image { old, new }) => {
            let image = &doc["spec"]["values"]["image"];
            if let Some(current) = image.as_str() {
                return (current == old).then(|| vec![(path(&["spec", "values", "image"]), new.clone())]);
            }
            image.get("tag")?;
            let (repository, tag) = split_image(new)?;
            let mut sets = Vec::new();
            if image["repository"].as_str().is_some_and(|r| r != repository) {
                sets.push((path(&["spec", "values", "image", "repository"]), repository.to_string()));
            }
            sets.push((path(&["spec", "values", "image", "tag"]), tag.to_string()));
            Some(sets)
        }
        (_, Field::Replicas(n)) => Some(vec![(path(&["spec", "replicas"]), n.to_string())]),
        (_, Field::Image { old, new }) => Some(vec![(vec![IMAGE_LINES.to_string(), old.clone()], new.clone())]),
    }
}

/// The kind whose values are edited instead of a rendered manifest.
pub const HELM_RELEASE: &str = "HelmRelease";

/// A path standing for "every `image:` line naming the old image" rather than a key.
const IMAGE_LINES: &str = "\u{0}image";

/// `ghcr.io/acme/api:1.1` → (`ghcr.io/acme/api`, `1.1`); a registry port is not a tag.
fn split_image(image: &str) -> Option<(&str, &str)> {
    let (repository, tag) = image.rsplit_once(':')?;
    (!tag.contains('/') && !tag.is_empty()).then_some((repository, tag))
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

fn is_content(line: &str) -> bool {
    !line.trim().is_empty() && !line.trim_start().starts_with('#')
}

/// `  replicas: 2  # why` → `replicas`: the key a block-mapping line sets.
fn key_of(line: &str) -> Option<&str> {
    let (key, rest) = line.trim_start().split_once(':')?;
    (rest.is_empty() || rest.starts_with(' ')).then(|| key.trim_matches(|c| c == '"' || c == '\''))
}

/// `key: value  # comment` → the value's byte range; a quoted value ends at its closing
/// quote, and in a flow mapping (`- {name: api, image: x}`) a plain one at `,` or `}`.
fn value_range(line: &str, key: &str) -> Option<(usize, usize)> {
    let at = line.match_indices(&format!("{key}:")).map(|(i, _)| i).find(|&i| {
        line[..i].trim().is_empty() || line[..i].ends_with(' ') || line[..i].ends_with('{') || line[..i].ends_with(',')
    })?;
    let from = at + key.len() + 1;
    let rest = &line[from..];
    let lead = rest.len() - rest.trim_start().len();
    let value = rest.trim_start();
    let len = match value.chars().next() {
        Some(q @ ('"' | '\'')) => value[1..].find(q).map_or(value.len(), |end| end + 2),
        _ => {
            let flow = line[..at].contains('{');
            let stop = value.find(" #").unwrap_or(value.len());
            let stop = if flow { value[..stop].find([',', '}']).unwrap_or(stop) } else { stop };
            value[..stop].trim_end().len()
        }
    };
    Some((from + lead, from + lead + len))
}

/// The first line after `at` (before `limit`) indented no deeper than `depth`: where the
/// block under `at` ends.
fn block_end(lines: &[String], at: usize, limit: usize, depth: usize) -> usize {
    (at + 1..limit).find(|&i| is_content(&lines[i]) && indent(&lines[i]) <= depth).unwrap_or(limit)
}

/// Sets the nested block-mapping key `path` of the document `start..end` to `value`, in
/// place (comments kept), adding the missing keys under the deepest one found; returns
/// the lines added. `None`: the path runs through something that is not a block mapping
/// (a flow mapping `{…}`, a list), which is left alone.
fn set_path(
    lines: &mut Vec<String>,
    start: usize,
    end: usize,
    path: &[String],
    value: &str,
    edits: &mut Vec<LineEdit>,
) -> Option<usize> {
    if path.first().is_some_and(|p| p == IMAGE_LINES) {
        return set_image(lines, start, end, &path[1], value, edits).then_some(0);
    }
    let mut parent = (start..end).find(|&i| indent(&lines[i]) == 0 && key_of(&lines[i]) == Some(path[0].as_str()))?;
    let mut depth = 0;
    let mut limit = block_end(lines, parent, end, 0);
    for (n, key) in path.iter().enumerate().skip(1) {
        let (from, to) = value_range(&lines[parent], &path[n - 1])?;
        if from != to {
            return None;
        }
        let child = (parent + 1..limit)
            .find(|&i| is_content(&lines[i]))
            .map(|i| indent(&lines[i]))
            .filter(|&d| d > depth)
            .unwrap_or(depth + 2);
        let found = (parent + 1..limit).find(|&i| indent(&lines[i]) == child && key_of(&lines[i]) == Some(key));
        let Some(at) = found else {
            let missing = &path[n..];
            for (k, key) in missing.iter().enumerate() {
                let tail = if k + 1 == missing.len() { format!(" {value}") } else { String::new() };
                let line = format!("{}{key}:{tail}", " ".repeat(child + 2 * k));
                lines.insert(parent + 1 + k, line.clone());
                edits.push(LineEdit { line: parent + 2 + k, before: String::new(), after: line });
            }
            return Some(missing.len());
        };
        parent = at;
        depth = child;
        limit = block_end(lines, at, limit, child);
    }
    let key = path.last()?;
    let (from, to) = value_range(&lines[parent], key)?;
    let quoted = lines[parent][from..to].starts_with('"');
    let current = lines[parent][from..to].trim_matches(|c| c == '"' || c == '\'');
    if current == value {
        return Some(0);
    }
    let before = lines[parent].clone();
    let replacement = if quoted { format!("\"{value}\"") } else { value.to_string() };
    lines[parent].replace_range(from..to, &replacement);
    edits.push(LineEdit { line: parent + 1, before, after: lines[parent].clone() });
    Some(0)
}

/// Every `image:` line naming `old` gets `new`; false when no line names either (the file
/// pins another image, or a transformer sets it).
fn set_image(lines: &mut [String], start: usize, end: usize, old: &str, new: &str, edits: &mut Vec<LineEdit>) -> bool {
    let mut named = false;
    for (i, line) in lines.iter_mut().enumerate().take(end).skip(start) {
        let Some((from, to)) = value_range(line, "image") else { continue };
        let value = line[from..to].trim_matches(|c| c == '"' || c == '\'');
        named |= value == old || value == new;
        if value != old {
            continue;
        }
        let quote = if line[from..].starts_with('"') { "\"" } else { "" };
        let before = line.clone();
        line.replace_range(from..to, &format!("{quote}{new}{quote}"));
        edits.push(LineEdit { line: i + 1, before, after: line.clone() });
    }
    named
}

/// The patch to put in git when no checkout is given: a strategic-merge patch a
/// Kustomization's `patches:` (or the manifest itself) takes; for a HelmRelease, the
/// values to set.
pub fn patch_yaml(target: Target<'_>, field: &Field, container: Option<&str>) -> String {
    if target.kind == HELM_RELEASE {
        let head = format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n  values:\n",
            target.name, target.namespace
        );
        return match field {
            Field::Replicas(n) => format!("{head}    replicaCount: {n}\n"),
            Field::Image { new, .. } => match split_image(new) {
                Some((repository, tag)) => {
                    format!("{head}    image:\n      repository: {repository}\n      tag: {tag}\n")
                }
                None => format!("{head}    image: {new}\n"),
            },
        };
    }
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

    const RELEASE: &str = "\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: shop
spec:
  interval: 5m
  values:
    # the chart's defaults otherwise
    image:
      repository: ghcr.io/acme/web
      tag: \"2.0.0\"
";

    const WEB: Target<'static> = Target { kind: HELM_RELEASE, name: "web", namespace: "shop" };

    #[test]
    fn a_helmrelease_gets_its_values_edited() {
        let (text, edits) = edit(RELEASE, WEB, &Field::Replicas(3)).unwrap();
        assert_eq!(edits.len(), 1, "{edits:?}");
        assert!(text.contains("  values:\n    replicaCount: 3\n    # the chart's"), "{text}");
        let (again, none) = edit(&text, WEB, &Field::Replicas(3)).unwrap();
        assert!(none.is_empty() && again == text, "replicaCount is found once added");
        let image = Field::Image { old: "ghcr.io/acme/web:2.0.0".into(), new: "ghcr.io/acme/web:2.1.0".into() };
        let (text, edits) = edit(RELEASE, WEB, &image).unwrap();
        assert_eq!(edits.len(), 1, "{edits:?}");
        assert!(text.contains("      tag: \"2.1.0\""), "{text}");
        let moved = Field::Image { old: "ghcr.io/acme/web:2.0.0".into(), new: "registry:5000/web:3".into() };
        let (text, _) = edit(RELEASE, WEB, &moved).unwrap();
        assert!(text.contains("repository: registry:5000/web\n      tag: \"3\""), "{text}");
        let no_image = RELEASE.split("    # the chart").next().unwrap().replace("  values:\n", "");
        assert!(edit(&no_image, WEB, &image).is_none(), "no image values the cockpit recognizes");
        let (text, edits) = edit(&no_image, WEB, &Field::Replicas(2)).unwrap();
        assert_eq!(edits.len(), 2);
        assert!(text.contains("spec:\n  values:\n    replicaCount: 2\n  interval: 5m"), "{text}");
        assert!(patch_yaml(WEB, &Field::Replicas(4), None).ends_with("spec:\n  values:\n    replicaCount: 4\n"));
    }

    #[test]
    fn a_flow_mapping_container_gets_its_image_edited() {
        let flow = "kind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      containers:\n        - {name: api, image: \"a/api:1\", ports: [{containerPort: 80}]}\n        - {name: side, image: a/side:1}\n";
        let image = Field::Image { old: "a/api:1".into(), new: "a/api:2".into() };
        let (text, edits) = edit(flow, API, &image).unwrap();
        assert_eq!(edits.len(), 1);
        assert!(text.contains("- {name: api, image: \"a/api:2\", ports: [{containerPort: 80}]}"), "{text}");
        let side = Field::Image { old: "a/side:1".into(), new: "a/side:2".into() };
        assert!(edit(flow, API, &side).unwrap().0.contains("- {name: side, image: a/side:2}"));
        let not_a_key = "kind: Deployment\nmetadata: {name: api}\nspec:\n  baseimage: a/api:1\n";
        assert!(edit(not_a_key, API, &image).is_none(), "no image line: not this file's to say");
        let (_, none) = edit(&edit(flow, API, &image).unwrap().0, API, &image).unwrap();
        assert!(none.is_empty(), "git already says a/api:2");
        let flow_spec = "kind: Deployment\nmetadata: {name: api}\nspec: {replicas: 2}\n";
        assert!(edit(flow_spec, API, &Field::Replicas(3)).is_none(), "a flow mapping is left alone");
    }

    #[test]
    fn the_patch_names_the_workload() {
        assert_eq!(
            patch_yaml(API, &Field::Replicas(4), None),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  replicas: 4\n"
        );
    }
}
