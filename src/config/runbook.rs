//! Runbook files (YAML): where they are found (built-in, the config folder, a path), their
//! parameters (`{{ name }}` in any string, with defaults and `--param k=v`), and a
//! validation that reports every problem at once, each with file, line and field.
//!
//! ```yaml
//! name: scale-out-in-steps
//! description: Scale a service out in steps, with gates between the steps
//! params:
//!   service: {description: the service to scale}        # no default: required
//!   replicas: {default: "4"}
//! namespace: "{{namespace}}"                             # optional: else -n / the context's
//! services: ["{{service}}"]
//! on_failure: stop                                       # stop | continue | {runbook: NAME}
//! steps:
//!   - id: scale
//!     title: Scale out
//!     scale: {service: "{{service}}", replicas: "{{replicas}}", step: 1}
//!     gates:
//!       - rollout-complete: {timeout: 5m}
//!       - ready-stable: {for: 1m}
//!       - slo-clean: {rules: [listen-together-reconnect], window: 5m, for: 1m}
//!       - budget-below: {percent: 80}
//!       - pdb-allows: {at_least: 1}
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::diagnostic::{Diagnostic, builtin_path};
use super::duration::parse_duration;
use super::paths::{Paths, files_in};
use super::yaml::{self, Document};
use crate::model::runbook::{Gate, OnFailure, Runbook, Step, StepAction};
use crate::model::service_ref::ServiceRef;

/// The built-in runbooks, compiled in.
pub const BUILTINS: &[(&str, &str)] = &[
    ("soundspan-staged-rollout", include_str!("../../assets/runbooks/soundspan-staged-rollout.yaml")),
    ("soundspan-rollback", include_str!("../../assets/runbooks/soundspan-rollback.yaml")),
    ("rollback-service", include_str!("../../assets/runbooks/rollback-service.yaml")),
    ("scale-out-in-steps", include_str!("../../assets/runbooks/scale-out-in-steps.yaml")),
    ("gitops-hold", include_str!("../../assets/runbooks/gitops-hold.yaml")),
];

const ACTIONS: [&str; 14] = [
    "scale",
    "set-env",
    "set-image",
    "restart",
    "undo",
    "patch",
    "hpa-bounds",
    "wait",
    "manual",
    "cordon",
    "uncordon",
    "drain",
    "suspend-gitops",
    "resume-gitops",
];
const GATES: [&str; 7] =
    ["rollout-complete", "ready-stable", "slo-clean", "budget-below", "pdb-allows", "node-drained", "gitops-synced"];
const STEP_KEYS: [&str; 5] = ["id", "title", "gates", "on_failure", "when"];
const TOP_KEYS: [&str; 7] = ["name", "description", "params", "namespace", "services", "on_failure", "steps"];

/// Default gate timeouts: long enough for a slow rollout, short enough to notice a stuck one.
const DEFAULT_TIMEOUT_S: i64 = 600;
const DEFAULT_PDB_TIMEOUT_S: i64 = 120;
const DEFAULT_SLO_WINDOW_S: i64 = 900;

/// A runbook's text and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunbookFile {
    pub name: String,
    /// A path, or `<built-in runbook NAME>`.
    pub label: PathBuf,
    pub text: String,
    pub builtin: bool,
}

/// One line of `runbook list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub description: String,
    pub origin: String,
}

/// A parameter a runbook declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamDecl {
    pub name: String,
    pub default: Option<String>,
    pub description: String,
}

/// Finds a runbook by path (anything with a `/` or a `.yaml`/`.yml` ending) or by name:
/// the config folder's `runbooks/NAME.yaml` first (a user's copy overrides a built-in),
/// then the built-ins.
pub fn find(wanted: &str, paths: &Paths) -> Result<RunbookFile, String> {
    let looks_like_path = wanted.contains('/') || wanted.ends_with(".yaml") || wanted.ends_with(".yml");
    if looks_like_path {
        let path = PathBuf::from(wanted);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read runbook {wanted}: {e}"))?;
        let name = path.file_stem().map_or_else(|| wanted.to_string(), |s| s.to_string_lossy().into_owned());
        return Ok(RunbookFile { name, label: path, text, builtin: false });
    }
    for ext in ["yaml", "yml"] {
        let path = paths.runbooks().join(format!("{wanted}.{ext}"));
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(RunbookFile { name: wanted.to_string(), label: path, text, builtin: false });
        }
    }
    if let Some((name, text)) = BUILTINS.iter().find(|(n, _)| *n == wanted) {
        return Ok(builtin(name, text));
    }
    let known: Vec<String> = list(paths).into_iter().map(|l| l.name).collect();
    let hint = match super::commands::closest(wanted, known.iter().map(String::as_str)) {
        Some(close) => format!("; did you mean {close:?}?"),
        None => format!(" (known: {})", known.join(", ")),
    };
    Err(format!("no runbook named {wanted:?}{hint}"))
}

fn builtin(name: &str, text: &str) -> RunbookFile {
    RunbookFile { name: name.to_string(), label: builtin_path("runbook", name), text: text.to_string(), builtin: true }
}

/// The runbook a failing step hands over to: found like any other, and also next to the
/// file that names it (a runbook and its rollback usually live side by side).
pub fn find_related(wanted: &str, beside: &RunbookFile, paths: &Paths) -> Result<RunbookFile, String> {
    if !beside.builtin
        && let Some(dir) = beside.label.parent()
    {
        for ext in ["yaml", "yml"] {
            let path = dir.join(format!("{wanted}.{ext}"));
            if let Ok(text) = std::fs::read_to_string(&path) {
                return Ok(RunbookFile { name: wanted.to_string(), label: path, text, builtin: false });
            }
        }
    }
    find(wanted, paths)
}

/// Every runbook found: the config folder's, then the built-ins it does not override.
pub fn list(paths: &Paths) -> Vec<Listed> {
    let mut out: Vec<Listed> = Vec::new();
    for file in files_in(&paths.runbooks(), &["yaml", "yml"]) {
        let Some(name) = file.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        out.push(Listed { name, description: description_of(&text), origin: file.display().to_string() });
    }
    for (name, text) in BUILTINS {
        if !out.iter().any(|l| l.name == *name) {
            out.push(Listed { name: name.to_string(), description: description_of(text), origin: "built-in".into() });
        }
    }
    out
}

fn description_of(text: &str) -> String {
    yaml::split_documents(text)
        .first()
        .and_then(|doc| serde_saphyr::from_str::<Value>(&doc.text).ok())
        .and_then(|v| v.get("description").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

/// How parameters are filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill<'a> {
    /// For a run: every parameter needs a value (given, or its default).
    Run(&'a [(String, String)]),
    /// For `validate`: parameters without a value stay as written, and the fields that use
    /// them are checked only for their shape.
    Check,
}

/// Parses and validates a runbook. On any error, every problem found is returned.
pub fn load(file: &RunbookFile, fill: Fill<'_>) -> Result<Runbook, Vec<Diagnostic>> {
    let docs = yaml::split_documents(&file.text);
    let [doc] = docs.as_slice() else {
        let message = if docs.is_empty() { "the file is empty" } else { "a runbook file holds one YAML document" };
        return Err(vec![Diagnostic::error(&file.label, message).at_line(Some(1))]);
    };
    let raw: Value = yaml::parse(&file.label, doc).map_err(|d| vec![*d])?;
    let mut checker = Checker { file: &file.label, doc, problems: Vec::new(), declared: BTreeSet::new() };
    let runbook = checker.runbook(&raw, fill, file);
    match runbook {
        Some(runbook) if checker.problems.is_empty() => Ok(runbook),
        _ => Err(checker.problems),
    }
}

/// The parameters a runbook declares (for `show` and for handing them to a rollback).
pub fn declared_params(file: &RunbookFile) -> Vec<ParamDecl> {
    let Some(doc) = yaml::split_documents(&file.text).into_iter().next() else { return Vec::new() };
    let Ok(raw) = serde_saphyr::from_str::<Value>(&doc.text) else { return Vec::new() };
    let mut checker = Checker { file: &file.label, doc: &doc, problems: Vec::new(), declared: BTreeSet::new() };
    checker.params(raw.get("params"))
}

/// `--param k=v` arguments, each split at its first `=`.
pub fn parse_param_args(args: &[String]) -> Result<Vec<(String, String)>, String> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(format!("--param {a:?}: expected NAME=VALUE")),
        })
        .collect()
}

struct Checker<'a> {
    file: &'a Path,
    doc: &'a Document,
    problems: Vec<Diagnostic>,
    /// Every declared parameter, with or without a value.
    declared: BTreeSet<String>,
}

/// A value still holding an unfilled `{{ param }}` (validation without values).
/// A Kubernetes object name as nodes use them (RFC 1123 subdomain).
fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn deferred(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.contains("{{"))
}

impl Checker<'_> {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(*yaml::problem(self.file, self.doc, field, message));
    }

    fn runbook(&mut self, raw: &Value, fill: Fill<'_>, file: &RunbookFile) -> Option<Runbook> {
        let Some(top) = raw.as_object() else {
            self.error("", "expected a mapping with name, steps, …");
            return None;
        };
        self.unknown_keys(top, "", &TOP_KEYS);
        let declared = self.params(top.get("params"));
        self.declared = declared.iter().map(|p| p.name.clone()).collect();
        let values = self.param_values(&declared, fill);
        let mut filled = raw.clone();
        self.substitute(&mut filled, "", &values, fill);
        let top = filled.as_object().cloned().unwrap_or_default();
        let name = match top.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() => n.trim().to_string(),
            Some(_) => {
                self.error("name", "expected the runbook's name as a string");
                file.name.clone()
            }
            None => file.name.clone(),
        };
        let description = self.optional_string(&top, "description", "").unwrap_or_default();
        let namespace = self.optional_string(&top, "namespace", "");
        let services = self.string_list(top.get("services"), "services");
        let default_failure = match top.get("on_failure") {
            Some(v) => self.on_failure(v, "on_failure").unwrap_or(OnFailure::Stop),
            None => OnFailure::Stop,
        };
        let steps = self.steps(top.get("steps"), &default_failure);
        let params = values.into_iter().collect();
        Some(Runbook {
            name,
            description,
            source: file.label.display().to_string(),
            params,
            namespace,
            services,
            steps,
        })
    }

    fn unknown_keys(&mut self, map: &Map<String, Value>, at: &str, known: &[&str]) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                let hint = match super::commands::closest(key, known.iter().copied()) {
                    Some(close) => format!("; did you mean {close:?}?"),
                    None => format!(" (expected one of: {})", known.join(", ")),
                };
                self.error(&join(at, key), format!("unknown field {key:?}{hint}"));
            }
        }
    }

    fn params(&mut self, raw: Option<&Value>) -> Vec<ParamDecl> {
        let Some(raw) = raw else { return Vec::new() };
        let Some(map) = raw.as_object() else {
            self.error("params", "expected a mapping of parameter names to {default, description}");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, spec) in map {
            let at = format!("params.{name}");
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                self.error(&at, "a parameter name uses letters, digits, _ and - only");
                continue;
            }
            let (default, description) = match spec {
                Value::Null => (None, String::new()),
                Value::Object(fields) => {
                    self.unknown_keys(fields, &at, &["default", "description"]);
                    let default = fields.get("default").and_then(|d| self.scalar_text(d, &format!("{at}.default")));
                    let description = fields.get("description").and_then(Value::as_str).unwrap_or_default();
                    (default, description.to_string())
                }
                other => (self.scalar_text(other, &at), String::new()),
            };
            out.push(ParamDecl { name: name.clone(), default, description });
        }
        out
    }

    fn scalar_text(&mut self, v: &Value, at: &str) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.error(at, "expected a string, number or boolean");
                None
            }
        }
    }

    /// The value of every declared parameter; an unknown `--param` or a missing value is
    /// a problem of the command line, reported against the `params` field.
    fn param_values(&mut self, declared: &[ParamDecl], fill: Fill<'_>) -> BTreeMap<String, String> {
        let mut values: BTreeMap<String, String> =
            declared.iter().filter_map(|p| Some((p.name.clone(), p.default.clone()?))).collect();
        let Fill::Run(given) = fill else { return values };
        for (k, v) in given {
            if declared.iter().any(|p| &p.name == k) {
                values.insert(k.clone(), v.clone());
            } else {
                let known: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
                self.error(
                    "params",
                    format!("--param {k}: this runbook has no such parameter (it has: {})", known.join(", ")),
                );
            }
        }
        for p in declared.iter().filter(|p| !values.contains_key(&p.name)) {
            self.error(&format!("params.{}", p.name), format!("needs a value: pass --param {}=…", p.name));
        }
        values
    }

    /// Replaces `{{ name }}` in every string. A string that is only a placeholder becomes
    /// the parameter's text, which typed fields then read as a number where they need one.
    fn substitute(&mut self, v: &mut Value, at: &str, values: &BTreeMap<String, String>, fill: Fill<'_>) {
        match v {
            Value::String(s) => {
                if let Some(text) = self.fill_text(s, at, values, fill) {
                    *s = text;
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.substitute(item, &format!("{at}[{i}]"), values, fill);
                }
            }
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    // The declarations themselves are not filled in.
                    if at.is_empty() && k == "params" {
                        continue;
                    }
                    self.substitute(item, &join(at, k), values, fill);
                }
            }
            _ => {}
        }
    }

    fn fill_text(&mut self, s: &str, at: &str, values: &BTreeMap<String, String>, fill: Fill<'_>) -> Option<String> {
        if !s.contains("{{") {
            return None;
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find("}}") else {
                self.error(at, format!("unclosed {{{{ in {s:?}"));
                return None;
            };
            let name = rest[open + 2..open + close].trim();
            match values.get(name) {
                Some(value) => out.push_str(value),
                None if fill == Fill::Check && self.declared.contains(name) => {
                    out.push_str(&rest[open..open + close + 2]);
                }
                None if self.declared.is_empty() => {
                    self.error(at, format!("{{{{ {name} }}}}: the runbook declares no parameters"));
                    return None;
                }
                None => {
                    let declared: Vec<&str> = self.declared.iter().map(String::as_str).collect();
                    self.error(at, format!("{{{{ {name} }}}}: no such parameter (declared: {})", declared.join(", ")));
                    return None;
                }
            }
            rest = &rest[open + close + 2..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn optional_string(&mut self, map: &Map<String, Value>, key: &str, at: &str) -> Option<String> {
        match map.get(key)? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Null => None,
            _ => {
                self.error(&join(at, key), "expected a string");
                None
            }
        }
    }

    fn string_list(&mut self, raw: Option<&Value>, at: &str) -> Vec<String> {
        match raw {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    Value::String(s) => Some(s.clone()),
                    _ => {
                        self.error(&format!("{at}[{i}]"), "expected a string");
                        None
                    }
                })
                .collect(),
            Some(_) => {
                self.error(at, "expected a list of strings");
                Vec::new()
            }
        }
    }

    fn on_failure(&mut self, v: &Value, at: &str) -> Option<OnFailure> {
        match v {
            Value::String(s) if s == "stop" => Some(OnFailure::Stop),
            Value::String(s) if s == "continue" => Some(OnFailure::Continue),
            Value::Object(m)
                if m.len() == 1 && m.get("runbook").and_then(Value::as_str).is_some_and(|r| !r.is_empty()) =>
            {
                Some(OnFailure::Runbook(m["runbook"].as_str().unwrap_or_default().to_string()))
            }
            _ => {
                self.error(at, "expected \"stop\", \"continue\" or {runbook: NAME}");
                None
            }
        }
    }

    fn steps(&mut self, raw: Option<&Value>, default_failure: &OnFailure) -> Vec<Step> {
        let items = match raw {
            Some(Value::Array(items)) if !items.is_empty() => items,
            Some(Value::Array(_)) | None => {
                self.error("steps", "a runbook needs at least one step");
                return Vec::new();
            }
            Some(_) => {
                self.error("steps", "expected a list of steps");
                return Vec::new();
            }
        };
        let mut ids = BTreeSet::new();
        let mut steps = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("steps[{i}]");
            let Some(map) = item.as_object() else {
                self.error(&at, "expected a step: a mapping with one action (scale, set-env, …) and its gates");
                continue;
            };
            if let Some(step) = self.step(map, &at, i, default_failure) {
                if !ids.insert(step.id.clone()) {
                    self.error(&format!("{at}.id"), format!("step id {:?} is used twice", step.id));
                }
                steps.push(step);
            }
        }
        steps
    }

    fn step(&mut self, map: &Map<String, Value>, at: &str, i: usize, default_failure: &OnFailure) -> Option<Step> {
        let allowed: Vec<&str> = STEP_KEYS.iter().chain(ACTIONS.iter()).copied().collect();
        self.unknown_keys(map, at, &allowed);
        let actions: Vec<&str> = ACTIONS.iter().copied().filter(|a| map.contains_key(*a)).collect();
        let action = match actions.as_slice() {
            [one] => self.action(one, &map[*one], &format!("{at}.{one}")),
            [] => {
                self.error(at, format!("a step needs one action: {}", ACTIONS.join(", ")));
                None
            }
            several => {
                self.error(at, format!("a step has one action, this one has {}", several.join(" and ")));
                None
            }
        };
        let id = match map.get("id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(_) => {
                self.error(&format!("{at}.id"), "expected a non-empty string");
                format!("step-{}", i + 1)
            }
            None => format!("step-{}", i + 1),
        };
        let title = self.optional_string(map, "title", at);
        let on_failure = match map.get("on_failure") {
            Some(v) => self.on_failure(v, &format!("{at}.on_failure")),
            None => Some(default_failure.clone()),
        };
        let enabled = match map.get("when") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" => true,
            Some(Value::String(s)) if s == "false" => false,
            Some(v) if deferred(v) => true,
            Some(_) => {
                self.error(
                    &format!("{at}.when"),
                    "expected true or false (usually a parameter: \"{{disable_worker}}\")",
                );
                true
            }
        };
        let action = action?;
        let gates = self.gates(map.get("gates"), &format!("{at}.gates"), &action);
        let title = title.unwrap_or_else(|| action.summary());
        Some(Step { id, title, action, gates, on_failure: on_failure?, enabled })
    }

    fn fields<'v>(&mut self, v: &'v Value, at: &str, known: &[&str]) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(map) => {
                self.unknown_keys(map, at, known);
                Some(map)
            }
            _ => {
                self.error(at, format!("expected a mapping with {}", known.join(", ")));
                None
            }
        }
    }

    fn service(&mut self, map: &Map<String, Value>, at: &str) -> Option<String> {
        match map.get("service") {
            Some(Value::String(s)) if deferred(&Value::String(s.clone())) => Some(s.clone()),
            Some(Value::String(s)) => match ServiceRef::parse(s.trim()) {
                Ok(_) => Some(s.trim().to_string()),
                Err(e) => {
                    self.error(&join(at, "service"), e);
                    None
                }
            },
            Some(_) => {
                self.error(&join(at, "service"), "expected NAME, NAMESPACE/NAME or KIND/NAME");
                None
            }
            None => {
                self.error(at, "missing field service");
                None
            }
        }
    }

    /// An integer, written as a number or as a string holding one (a filled parameter).
    fn int(&mut self, map: &Map<String, Value>, key: &str, at: &str, required: bool) -> Option<Option<i64>> {
        let field = join(at, key);
        match map.get(key) {
            None if required => {
                self.error(at, format!("missing field {key}"));
                None
            }
            None | Some(Value::Null) => Some(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Some(n.as_i64()),
            Some(v) if deferred(v) => Some(Some(0)),
            Some(Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(n) => Some(Some(n)),
                Err(_) => {
                    self.error(&field, format!("expected a whole number, got {s:?}"));
                    None
                }
            },
            Some(other) => {
                self.error(&field, format!("expected a whole number, got {other}"));
                None
            }
        }
    }

    fn int32(&mut self, map: &Map<String, Value>, key: &str, at: &str, required: bool) -> Option<Option<i32>> {
        let value = self.int(map, key, at, required)?;
        match value.map(i32::try_from) {
            Some(Ok(n)) if n >= 0 => Some(Some(n)),
            Some(_) => {
                self.error(&join(at, key), "expected a whole number ≥ 0");
                None
            }
            None => Some(None),
        }
    }

    fn duration(&mut self, map: &Map<String, Value>, key: &str, at: &str, default: i64) -> Option<i64> {
        match map.get(key) {
            None | Some(Value::Null) => Some(default),
            Some(v) if deferred(v) => Some(default),
            Some(Value::String(s)) => match parse_duration(s) {
                Ok(d) => Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
                Err(e) => {
                    self.error(&join(at, key), e);
                    None
                }
            },
            Some(other) => {
                self.error(&join(at, key), format!("expected a duration like 30s or 5m, got {other}"));
                None
            }
        }
    }

    fn action(&mut self, kind: &str, v: &Value, at: &str) -> Option<StepAction> {
        match kind {
            "scale" => {
                let map = self.fields(v, at, &["service", "replicas", "step"])?;
                let service = self.service(map, at);
                let replicas = self.int32(map, "replicas", at, true);
                let step = self.int32(map, "step", at, false);
                if step.flatten() == Some(0) {
                    self.error(&join(at, "step"), "a step of 0 never arrives: expected 1 or more");
                }
                Some(StepAction::Scale { service: service?, replicas: replicas??, step: step? })
            }
            "set-env" => {
                let map = self.fields(v, at, &["service", "container", "env"])?;
                let service = self.service(map, at);
                let container = self.optional_string(map, "container", at);
                let vars = self.env_vars(map.get("env"), &join(at, "env"));
                Some(StepAction::SetEnv { service: service?, container, vars: vars? })
            }
            "set-image" => {
                let map = self.fields(v, at, &["service", "container", "image"])?;
                let service = self.service(map, at);
                let container = self.optional_string(map, "container", at);
                let image = self.optional_string(map, "image", at).filter(|i| !i.is_empty());
                if image.is_none() {
                    self.error(at, "missing field image");
                }
                Some(StepAction::SetImage { service: service?, container, image: image? })
            }
            "restart" => {
                let map = self.fields(v, at, &["service"])?;
                Some(StepAction::Restart { service: self.service(map, at)? })
            }
            "suspend-gitops" | "resume-gitops" => {
                let map = self.fields(v, at, &["service"])?;
                Some(StepAction::GitOpsSuspend { service: self.service(map, at)?, suspend: kind == "suspend-gitops" })
            }
            "undo" => {
                let map = self.fields(v, at, &["service", "revision"])?;
                let service = self.service(map, at);
                let revision = match map.get("revision") {
                    Some(Value::String(s)) if s == "previous" => Some(None),
                    _ => self.int(map, "revision", at, false),
                };
                Some(StepAction::Undo { service: service?, revision: revision? })
            }
            "patch" => {
                let map = self.fields(v, at, &["service", "type", "patch"])?;
                let service = self.service(map, at);
                let strategic = match map.get("type").and_then(Value::as_str) {
                    None | Some("strategic") => Some(true),
                    Some("merge") => Some(false),
                    Some(other) => {
                        self.error(&join(at, "type"), format!("expected strategic or merge, got {other:?}"));
                        None
                    }
                };
                let body = match map.get("patch") {
                    Some(body @ Value::Object(_)) => Some(body.clone()),
                    Some(_) => {
                        self.error(&join(at, "patch"), "expected the patch as a mapping (e.g. {spec: {…}})");
                        None
                    }
                    None => {
                        self.error(at, "missing field patch");
                        None
                    }
                };
                Some(StepAction::Patch { service: service?, strategic: strategic?, body: body? })
            }
            "hpa-bounds" => {
                let map = self.fields(v, at, &["service", "min", "max"])?;
                let service = self.service(map, at);
                let (min, max) = (self.int32(map, "min", at, true), self.int32(map, "max", at, true));
                let (min, max) = (min??, max??);
                if min > max {
                    self.error(at, format!("min {min} is above max {max}"));
                }
                Some(StepAction::HpaBounds { service: service?, min, max })
            }
            "wait" => {
                let seconds = match v {
                    Value::String(s) => parse_duration(s).map_err(|e| self.error(at, e)).ok()?.as_secs(),
                    Value::Object(_) => {
                        let map = self.fields(v, at, &["for"])?;
                        u64::try_from(self.duration(map, "for", at, 0)?).unwrap_or(0)
                    }
                    _ => {
                        self.error(at, "expected a duration (wait: 30s) or {for: 30s}");
                        return None;
                    }
                };
                Some(StepAction::Wait { seconds: i64::try_from(seconds).unwrap_or(i64::MAX) })
            }
            "manual" => {
                let list = match v {
                    Value::Object(_) => {
                        let map = self.fields(v, at, &["checklist"])?;
                        self.string_list(map.get("checklist"), &join(at, "checklist"))
                    }
                    other => self.string_list(Some(other), at),
                };
                if list.is_empty() {
                    self.error(at, "a manual step needs a checklist: a list of what the operator confirms");
                    return None;
                }
                Some(StepAction::Manual { checklist: list })
            }
            "cordon" => Some(StepAction::Cordon { node: self.node_only(v, at)? }),
            "uncordon" => Some(StepAction::Uncordon { node: self.node_only(v, at)? }),
            "drain" => {
                let map = self.fields(v, at, &["node", "force"])?;
                let node = self.node(map, at);
                let force = self.flag(map, "force", at)?;
                Some(StepAction::Drain { node: node?, force })
            }
            _ => None,
        }
    }

    /// `env: {NAME: value, GONE: null}`: null removes the variable.
    fn env_vars(&mut self, raw: Option<&Value>, at: &str) -> Option<Vec<(String, Option<String>)>> {
        let Some(Value::Object(map)) = raw else {
            self.error(at, "expected a mapping of variable names to values (null removes one)");
            return None;
        };
        if map.is_empty() {
            self.error(at, "no variable to set or remove");
            return None;
        }
        let mut out = Vec::new();
        for (name, value) in map {
            let value = match value {
                Value::Null => None,
                other => Some(self.scalar_text(other, &join(at, name))?),
            };
            out.push((name.clone(), value));
        }
        Some(out)
    }

    fn gates(&mut self, raw: Option<&Value>, at: &str, action: &StepAction) -> Vec<Gate> {
        let items = match raw {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.error(at, "expected a list of gates");
                return Vec::new();
            }
        };
        let mut gates = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{at}[{i}]");
            let (kind, body) = match item {
                Value::String(kind) => (kind.as_str(), Value::Object(Map::new())),
                Value::Object(m) if m.len() == 1 => {
                    let (k, v) = m.iter().next().expect("one entry");
                    (k.as_str(), if v.is_null() { Value::Object(Map::new()) } else { v.clone() })
                }
                _ => {
                    self.error(&at, format!("expected one gate: {}", GATES.join(", ")));
                    continue;
                }
            };
            if !GATES.contains(&kind) {
                let hint = match super::commands::closest(kind, GATES) {
                    Some(close) => format!("; did you mean {close:?}?"),
                    None => format!(" (expected one of: {})", GATES.join(", ")),
                };
                self.error(&at, format!("unknown gate {kind:?}{hint}"));
                continue;
            }
            let at = format!("{at}.{kind}");
            let gate = if kind == "node-drained" {
                self.node_gate(&body, &at, action.node())
            } else {
                self.gate(kind, &body, &at, action.service())
            };
            gates.extend(gate);
        }
        gates
    }

    /// `node-drained: {node, timeout}`: the node defaults to the step's.
    fn node_gate(&mut self, body: &Value, at: &str, step_node: Option<&str>) -> Option<Gate> {
        let map = self.fields(body, at, &["node", "timeout"])?;
        let node = match map.get("node") {
            Some(_) => self.node(map, at)?,
            None => match step_node {
                Some(n) => n.to_string(),
                None => {
                    self.error(at, "this step acts on no node: name the gate's node");
                    return None;
                }
            },
        };
        let timeout_s = self.duration(map, "timeout", at, DEFAULT_TIMEOUT_S)?;
        Some(Gate::NodeDrained { node, timeout_s })
    }

    /// A node's name: `node: NAME` (a parameter is checked once it is filled in).
    fn node(&mut self, map: &Map<String, Value>, at: &str) -> Option<String> {
        match map.get("node") {
            Some(v) => self.node_name(v, &join(at, "node")),
            None => {
                self.error(at, "missing field node");
                None
            }
        }
    }

    /// The node name `v` written at `field`.
    fn node_name(&mut self, v: &Value, field: &str) -> Option<String> {
        match v {
            Value::String(s) if deferred(v) => Some(s.clone()),
            Value::String(s) if is_node_name(s.trim()) => Some(s.trim().to_string()),
            Value::String(s) => {
                self.error(field, format!("expected a node name (lowercase letters, digits, - and .), got {s:?}"));
                None
            }
            other => {
                self.error(field, format!("expected a node name, got {other}"));
                None
            }
        }
    }

    /// `cordon: NODE` or `cordon: {node: NODE}` (and the same for uncordon).
    fn node_only(&mut self, v: &Value, at: &str) -> Option<String> {
        match v {
            Value::String(_) => self.node_name(v, at),
            _ => {
                let map = self.fields(v, at, &["node"])?;
                self.node(map, at)
            }
        }
    }

    fn gate(&mut self, kind: &str, body: &Value, at: &str, step_service: Option<&str>) -> Option<Gate> {
        let known: &[&str] = match kind {
            "rollout-complete" => &["service", "timeout"],
            "ready-stable" => &["service", "for", "timeout"],
            "slo-clean" => &["service", "rules", "window", "for", "timeout", "required"],
            "budget-below" => &["service", "percent", "timeout"],
            "gitops-synced" => &["service", "timeout"],
            _ => &["service", "at_least", "timeout"],
        };
        let map = self.fields(body, at, known)?;
        let service = match map.get("service") {
            Some(_) => self.service(map, at)?,
            None => match step_service {
                Some(s) => s.to_string(),
                None => {
                    self.error(at, "this step changes no service: name the gate's service");
                    return None;
                }
            },
        };
        let default_timeout = if kind == "pdb-allows" {
            DEFAULT_PDB_TIMEOUT_S
        } else if kind == "budget-below" {
            0
        } else {
            DEFAULT_TIMEOUT_S
        };
        let timeout_s = self.duration(map, "timeout", at, default_timeout)?;
        match kind {
            "rollout-complete" => Some(Gate::RolloutComplete { service, timeout_s }),
            "gitops-synced" => Some(Gate::GitOpsSynced { service, timeout_s }),
            "ready-stable" => {
                let for_s = self.duration(map, "for", at, 60)?;
                self.timeout_covers(timeout_s, for_s, at)?;
                Some(Gate::ReadyStable { service, for_s, timeout_s })
            }
            "slo-clean" => {
                let rules = self.string_list(map.get("rules"), &join(at, "rules"));
                let window_s = self.duration(map, "window", at, DEFAULT_SLO_WINDOW_S)?;
                let for_s = self.duration(map, "for", at, 0)?;
                if window_s == 0 {
                    self.error(&join(at, "window"), "a window of 0 sees no logs: expected e.g. 15m");
                }
                let required = self.flag(map, "required", at)?;
                self.timeout_covers(timeout_s, for_s, at)?;
                Some(Gate::SloClean { service, rules, window_s, for_s, timeout_s, required })
            }
            "budget-below" => {
                let percent = self.int32(map, "percent", at, true)??;
                if percent == 0 || percent > 100 {
                    self.error(&join(at, "percent"), "expected a percentage from 1 to 100");
                }
                Some(Gate::BudgetBelow { service, percent: u32::try_from(percent).unwrap_or(100), timeout_s })
            }
            _ => {
                let at_least = self.int32(map, "at_least", at, false)?.unwrap_or(1);
                Some(Gate::PdbAllows { service, at_least, timeout_s })
            }
        }
    }

    /// A yes/no field (`required: true`); `false` when absent. A parameter (`"{{strict}}"`)
    /// is checked once it is filled in.
    fn flag(&mut self, map: &Map<String, Value>, key: &str, at: &str) -> Option<bool> {
        match map.get(key) {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s == "true" => Some(true),
            Some(Value::String(s)) if s == "false" => Some(false),
            Some(v) if deferred(v) => Some(false),
            Some(other) => {
                self.error(&join(at, key), format!("expected true or false, got {other}"));
                None
            }
        }
    }

    fn timeout_covers(&mut self, timeout_s: i64, for_s: i64, at: &str) -> Option<()> {
        if timeout_s < for_s {
            self.error(
                &join(at, "timeout"),
                format!("the timeout ({timeout_s}s) is shorter than for ({for_s}s): the gate could never pass"),
            );
            return None;
        }
        Some(())
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() { key.to_string() } else { format!("{at}.{key}") }
}

/// The runbooks `file` hands over to (`on_failure: {runbook: NAME}`, at the top or in a
/// step), with the field that names each. Names still holding a `{{ param }}` are left
/// out: they are known only when the run fills them in.
fn handovers(file: &RunbookFile) -> Vec<(String, String)> {
    let Some(doc) = yaml::split_documents(&file.text).into_iter().next() else { return Vec::new() };
    let Ok(raw) = serde_saphyr::from_str::<Value>(&doc.text) else { return Vec::new() };
    let named = |v: Option<&Value>| {
        v.and_then(|v| v.get("runbook")).and_then(Value::as_str).filter(|n| !n.contains("{{")).map(str::to_string)
    };
    let mut out: Vec<(String, String)> =
        named(raw.get("on_failure")).map(|n| (n, "on_failure".into())).into_iter().collect();
    let steps = raw.get("steps").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        if let Some(name) = named(step.get("on_failure")) {
            out.push((name, format!("steps[{i}].on_failure.runbook")));
        }
    }
    out
}

/// Every `on_failure: {runbook: NAME}` of `file` must name a runbook that exists (next to
/// it or by name, as a run looks it up), and following them must never come back to a
/// runbook already on the way: a rollback that fails into itself would loop on a cluster
/// that is already in trouble.
pub fn check_handovers(file: &RunbookFile, paths: &Paths) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut done = BTreeSet::new();
    follow_handovers(file, paths, &mut vec![file.name.clone()], &mut done, &mut problems);
    problems
}

fn follow_handovers(
    file: &RunbookFile,
    paths: &Paths,
    chain: &mut Vec<String>,
    done: &mut BTreeSet<String>,
    problems: &mut Vec<Diagnostic>,
) {
    let Some(doc) = yaml::split_documents(&file.text).into_iter().next() else { return };
    for (name, field) in handovers(file) {
        if chain.contains(&name) {
            let path = chain.iter().chain(std::iter::once(&name)).cloned().collect::<Vec<_>>().join(" → ");
            let message = format!("hands over to runbook {name:?}, which is already on the way: {path} is a cycle");
            problems.push(*yaml::problem(&file.label, &doc, &field, message));
            continue;
        }
        match find_related(&name, file, paths) {
            Err(why) => problems.push(*yaml::problem(&file.label, &doc, &field, why)),
            Ok(next) if done.insert(next.label.display().to_string()) => {
                chain.push(name);
                follow_handovers(&next, paths, chain, done, problems);
                chain.pop();
            }
            Ok(_) => {}
        }
    }
}

/// `config check`: every runbook in the config folder and every built-in one.
pub fn check_all(paths: &Paths) -> (usize, Vec<Diagnostic>) {
    let mut files: Vec<RunbookFile> = BUILTINS.iter().map(|(name, text)| builtin(name, text)).collect();
    for path in files_in(&paths.runbooks(), &["yaml", "yml"]) {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                files.push(RunbookFile { name, label: path, text, builtin: false });
            }
            Err(e) => return (files.len(), vec![Diagnostic::error(&path, format!("cannot read this runbook: {e}"))]),
        }
    }
    let mut problems = Vec::new();
    for file in &files {
        if let Err(found) = load(file, Fill::Check) {
            problems.extend(found);
        }
        // A cycle is found from each runbook on it: said once.
        for problem in check_handovers(file, paths) {
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
    }
    (files.len(), problems)
}

#[cfg(test)]
mod tests;
