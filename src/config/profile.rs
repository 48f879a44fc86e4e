//! The cockpit profile (`--profile PATH`, `profiles/<context>.toml`, or the demo's built-in
//! one): databases and the services that use them, singletons, and whether the context is
//! production. Parsed into [`crate::model::profile::Profile`]; every problem names file,
//! line and field. A profile with errors is not used at all: half a budget is worse than
//! a budget that says "no profile".

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::diagnostic::{Diagnostic, builtin_path, line_of_offset};
use super::duration::parse_duration;
use super::paths::{Paths, files_in};
use crate::model::budget::{BindingDecl, BudgetRules, DatabaseDecl};
use crate::model::lint::{self, LintRule};
use crate::model::profile::{Profile, SingletonDecl};
use crate::model::service::Severity;
use crate::model::service_match::{ServiceMatch, parse_selector};
use crate::model::slo::{Capture, Compare, SloRule, Sustained, parse_rule_pattern};

/// The demo scenario's profile, used with `--demo` unless `--profile` says otherwise.
pub const DEMO_PROFILE: &str = include_str!("../../assets/profiles/demo.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    production: bool,
    /// `fleet = ["eu", "us"]`: the contexts opened together with this profile.
    #[serde(default)]
    fleet: Vec<String>,
    #[serde(default)]
    databases: Vec<DatabaseEntry>,
    #[serde(default)]
    bindings: Vec<BindingEntry>,
    #[serde(default)]
    singletons: Vec<SingletonEntry>,
    #[serde(default)]
    lint: Vec<LintEntry>,
    #[serde(default)]
    slo: Vec<SloEntry>,
}

/// `[[slo]]`: a log rule (see the README's "SLO rules and the gate").
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SloEntry {
    name: Spanned<String>,
    pattern: Spanned<String>,
    service: Option<Spanned<String>>,
    selector: Option<Spanned<String>>,
    namespace: Option<String>,
    #[serde(default)]
    severity: Option<Spanned<String>>,
    window: Option<Spanned<String>>,
    threshold: Option<u32>,
    startup_grace: Option<Spanned<String>>,
    sustained: Option<SustainedEntry>,
    capture: Option<Spanned<CaptureEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SustainedEntry {
    per_minute: u32,
    minutes: u32,
}

/// `{ group = "ms", above = 5000 }` (or `at_least`, `below`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptureEntry {
    group: String,
    above: Option<f64>,
    at_least: Option<f64>,
    below: Option<f64>,
}

/// `[[lint]] check = "image-unpinned", severity = "off"`, optionally for some services.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LintEntry {
    check: Spanned<String>,
    severity: Spanned<String>,
    service: Option<Spanned<String>>,
    selector: Option<Spanned<String>>,
    namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseEntry {
    name: Spanned<String>,
    namespace: Option<String>,
    max_connections: Option<Spanned<u32>>,
    reserved: Option<u32>,
    headroom: Option<u32>,
    warn_percent: Option<Spanned<u32>>,
    pooler: Option<bool>,
    url_env: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingEntry {
    database: Spanned<String>,
    service: Option<Spanned<String>>,
    selector: Option<Spanned<String>>,
    namespace: Option<String>,
    pool: Option<u32>,
    overflow: Option<u32>,
    extra_per_pod: Option<u32>,
    url_env: Option<Spanned<String>>,
    application_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SingletonEntry {
    service: Option<Spanned<String>>,
    selector: Option<Spanned<String>>,
    namespace: Option<String>,
    reason: Option<String>,
}

/// Which services an entry is about: `service = "ns/name"` or `selector = "k=v"` (with an
/// optional `namespace`). Spelled out in each entry rather than flattened, because serde
/// loses spans and unknown-field checks through `flatten`.
struct TargetEntry {
    service: Option<Spanned<String>>,
    selector: Option<Spanned<String>>,
    namespace: Option<String>,
}

/// A loaded profile and where it came from (`None`: no profile applies).
#[derive(Clone, Debug, Default)]
pub struct LoadedProfile {
    pub profile: Profile,
    pub file: Option<PathBuf>,
}

/// Which profile applies to a context: `--profile`, else `profiles/<context>.toml` when it
/// exists, else the demo's built-in one under `--demo`.
#[derive(Clone, Debug)]
pub struct ProfileChoice {
    pub explicit: Option<PathBuf>,
    pub profiles_dir: PathBuf,
    pub demo: bool,
}

impl ProfileChoice {
    pub fn new(explicit: Option<&Path>, paths: &Paths, demo: bool) -> Self {
        ProfileChoice { explicit: explicit.map(Path::to_path_buf), profiles_dir: paths.profiles(), demo }
    }

    /// Loads the profile for `context`. Problems come back with it; with any error the
    /// profile is empty (the cockpit runs, and says why the budget is missing).
    pub fn load(&self, context: &str) -> (LoadedProfile, Vec<Diagnostic>) {
        let (label, text) = match self.source_for(context) {
            Some(source) => source,
            None => return (LoadedProfile::default(), Vec::new()),
        };
        let text = match text {
            Ok(text) => text,
            Err(problem) => return (LoadedProfile::default(), vec![problem]),
        };
        let (profile, problems) = parse(&text, &label);
        match profile {
            Some(profile) if !problems.iter().any(Diagnostic::is_error) => {
                (LoadedProfile { profile, file: Some(label) }, problems)
            }
            _ => (LoadedProfile::default(), problems),
        }
    }

    fn source_for(&self, context: &str) -> Option<(PathBuf, Result<String, Diagnostic>)> {
        let path = match &self.explicit {
            Some(path) => path.clone(),
            None => {
                let candidate = self.profiles_dir.join(format!("{}.toml", super::paths::sanitize_file_name(context)));
                if candidate.is_file() {
                    candidate
                } else if self.demo {
                    return Some((builtin_path("profile", "demo"), Ok(DEMO_PROFILE.to_string())));
                } else {
                    return None;
                }
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Diagnostic::error(&path, format!("cannot read this profile: {e}")));
        Some((path, text))
    }
}

/// What every command says when a profile exists and does not load: its singletons,
/// production flag and budgets are unknown, so nothing may be judged or changed on a guess.
/// `None` when the problems are only warnings.
pub fn refusal(problems: &[Diagnostic]) -> Option<String> {
    let errors: Vec<&Diagnostic> = problems.iter().filter(|p| p.is_error()).collect();
    let first = errors.first()?;
    let count = match errors.len() {
        1 => "1 error".to_string(),
        n => format!("{n} errors"),
    };
    Some(format!(
        "the profile {} does not load ({count}): its guards are unknown, so changes are refused; fix it (`config check` lists every problem) or pass another with --profile",
        first.file.display()
    ))
}

/// Parses a profile; `label` names the file in diagnostics. Every problem is reported at
/// once: a field of the wrong type is set aside and the rest of the file is read on, so
/// an operator fixes a file in one pass instead of one error per run.
pub fn parse(text: &str, label: &Path) -> (Option<Profile>, Vec<Diagnostic>) {
    let (document, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let mut problems: Vec<Diagnostic> = syntax.iter().map(|e| toml_error(e, text, label, None)).collect();
        problems.truncate(MAX_PROBLEMS);
        return (None, problems);
    }
    let mut document = document;
    let mut problems = Vec::new();
    let mut removed = RemovedEntries::default();
    let file = loop {
        let attempt = toml::de::Deserializer::from(document.clone());
        match serde_path_to_error::deserialize::<_, ProfileFile>(attempt) {
            Ok(file) => break Some(file),
            Err(e) => {
                let segments = plain_segments(e.path());
                let field = removed.original_path(&segments);
                problems.push(toml_error(e.inner(), text, label, field));
                if problems.len() >= MAX_PROBLEMS || !set_aside(document.get_mut(), &segments, &mut removed) {
                    break None;
                }
            }
        }
    };
    let Some(file) = file else { return (None, problems) };
    let mut check = Checker { text, label, problems: Vec::new() };
    let profile = check.profile(file);
    // An entry that lost a field to a type error would only add confusing follow-ups.
    let broken: Vec<String> = problems.iter().filter_map(|p| p.field.as_deref().map(entry_of)).collect();
    check.problems.retain(|p| !p.field.as_deref().is_some_and(|f| broken.iter().any(|b| entry_of(f) == *b)));
    problems.extend(check.problems);
    problems.sort_by_key(|p| p.line);
    let usable = !problems.iter().any(Diagnostic::is_error);
    (usable.then_some(profile), problems)
}

/// More than this many problems in one file is a wrong file, not a list to fix.
const MAX_PROBLEMS: usize = 50;

/// The entry a field belongs to: `slo[2].capture.above` → `slo[2]`.
fn entry_of(field: &str) -> String {
    match field.find(']') {
        Some(end) => field[..=end].to_string(),
        None => field.split('.').next().unwrap_or(field).to_string(),
    }
}

/// A step of a path into the document, without the private segments `Spanned` adds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn plain_segments(path: &serde_path_to_error::Path) -> Vec<Step> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Map { key } if !key.starts_with("$__") => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            _ => None,
        })
        .collect()
}

/// Array entries set aside so far, so that later problems still name the index the
/// operator wrote (`bindings[3]`, even after `bindings[1]` was set aside).
#[derive(Default)]
struct RemovedEntries {
    /// Per array (its path as text), the original indices that were removed.
    by_array: BTreeMap<String, Vec<usize>>,
}

impl RemovedEntries {
    fn original_index(&self, array: &str, index: usize) -> usize {
        let mut removed = self.by_array.get(array).cloned().unwrap_or_default();
        removed.sort_unstable();
        let mut original = index;
        for r in removed {
            if r <= original {
                original += 1;
            }
        }
        original
    }

    /// The field path as the operator wrote it (`databases[2].max_connections`).
    fn original_path(&self, steps: &[Step]) -> Option<String> {
        let mut path = String::new();
        for step in steps {
            match step {
                Step::Key(key) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                }
                Step::Index(i) => {
                    let original = self.original_index(&path, *i);
                    path.push_str(&format!("[{original}]"));
                }
            }
        }
        (!path.is_empty()).then_some(path)
    }
}

/// Removes what `steps` points at (a field, or an entry of an array) so the rest can be
/// read. `false` when there is nothing left to remove (the whole document is wrong).
fn set_aside(table: &mut DeTable<'_>, steps: &[Step], removed: &mut RemovedEntries) -> bool {
    let Some((Step::Key(first), rest)) = steps.split_first() else { return false };
    if rest.is_empty() {
        return table.remove(first.as_str()).is_some();
    }
    let Some(value) = table.get_mut(first.as_str()) else { return false };
    set_aside_in(value.get_mut(), rest, first.clone(), removed)
}

fn set_aside_in(value: &mut DeValue<'_>, steps: &[Step], path: String, removed: &mut RemovedEntries) -> bool {
    match (value, steps) {
        (DeValue::Table(table), [Step::Key(key), rest @ ..]) => {
            if rest.is_empty() {
                return table.remove(key.as_str()).is_some();
            }
            let Some(inner) = table.get_mut(key.as_str()) else { return false };
            set_aside_in(inner.get_mut(), rest, format!("{path}.{key}"), removed)
        }
        (DeValue::Array(array), [Step::Index(i), rest @ ..]) if *i < array.len() => {
            if rest.is_empty() {
                let original = removed.original_index(&path, *i);
                let kept: Vec<_> = array.iter().enumerate().filter(|(j, _)| j != i).map(|(_, v)| v.clone()).collect();
                let mut rebuilt = DeArray::new();
                for item in kept {
                    rebuilt.push(item);
                }
                // `[[databases]]` stays an array of tables for the deserializer.
                *array = rebuilt;
                removed.by_array.entry(path).or_default().push(original);
                return true;
            }
            set_aside_in(array.as_mut()[*i].get_mut(), rest, format!("{path}[{i}]"), removed)
        }
        _ => false,
    }
}

fn toml_error(e: &toml::de::Error, text: &str, label: &Path, field: Option<String>) -> Diagnostic {
    // serde names Rust types; the operator wrote TOML.
    let message = e
        .message()
        .trim()
        .replace("expected u32", "expected a whole number (0 or more)")
        .replace("expected f64", "expected a number");
    let diagnostic = Diagnostic::error(label, message).at_line(e.span().map(|s| line_of_offset(text, s.start)));
    match field {
        Some(field) => diagnostic.in_field(field),
        None => diagnostic,
    }
}

/// Checks what the TOML types cannot say (a binding names one target, a selector parses,
/// names are unique) and builds the model's profile.
struct Checker<'a> {
    text: &'a str,
    label: &'a Path,
    problems: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, field: String, message: impl Into<String>) {
        let line = line_of_offset(self.text, span.start);
        self.problems.push(Diagnostic::error(self.label, message).at_line(Some(line)).in_field(field));
    }

    fn warning(&mut self, span: Range<usize>, field: String, message: impl Into<String>) {
        let line = line_of_offset(self.text, span.start);
        self.problems.push(Diagnostic::warning(self.label, message).at_line(Some(line)).in_field(field));
    }

    fn profile(&mut self, file: ProfileFile) -> Profile {
        let databases: Vec<DatabaseDecl> =
            file.databases.into_iter().enumerate().map(|(i, d)| self.database(i, d)).collect();
        let mut seen = BTreeSet::new();
        for (i, d) in databases.iter().enumerate() {
            if !seen.insert(d.name.clone()) {
                let span = self.span_of_nth("[[databases]]", i);
                self.error(span, format!("databases[{i}].name"), format!("database {:?} is declared twice", d.name));
            }
        }
        let bindings = file.bindings.into_iter().enumerate().filter_map(|(i, b)| self.binding(i, b, &seen)).collect();
        let singletons = file
            .singletons
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let target = TargetEntry { service: s.service, selector: s.selector, namespace: s.namespace };
                let services = self.target(&format!("singletons[{i}]"), target, i, "[[singletons]]")?;
                Some(SingletonDecl { services, reason: s.reason.unwrap_or_else(|| "declared in the profile".into()) })
            })
            .collect();
        let lint = file.lint.into_iter().enumerate().filter_map(|(i, l)| self.lint_rule(i, l)).collect();
        let slo = file.slo.into_iter().enumerate().filter_map(|(i, r)| self.slo_rule(i, r)).collect();
        Profile {
            production: file.production,
            fleet: file.fleet,
            budget: BudgetRules { databases, bindings },
            singletons,
            lint,
            slo,
        }
    }

    fn database(&mut self, i: usize, d: DatabaseEntry) -> DatabaseDecl {
        let field = |name: &str| format!("databases[{i}].{name}");
        if d.name.get_ref().trim().is_empty() {
            self.error(d.name.span(), field("name"), "expected a database name");
        }
        if let Some(max) = &d.max_connections
            && *max.get_ref() == 0
        {
            self.error(max.span(), field("max_connections"), "expected a number of connections above 0");
        }
        if let Some(warn) = &d.warn_percent
            && !(1..=100).contains(warn.get_ref())
        {
            self.error(warn.span(), field("warn_percent"), "expected a percentage from 1 to 100");
        }
        if let Some(var) = &d.url_env {
            self.env_name(var, field("url_env"));
        }
        DatabaseDecl {
            name: d.name.into_inner(),
            namespace: d.namespace,
            max_connections: d.max_connections.map(Spanned::into_inner),
            reserved: d.reserved,
            headroom: d.headroom,
            warn_percent: d.warn_percent.map(Spanned::into_inner),
            pooler: d.pooler,
            url_env: d.url_env.map(Spanned::into_inner),
        }
    }

    fn env_name(&mut self, var: &Spanned<String>, field: String) {
        let name = var.get_ref();
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.error(
                var.span(),
                field,
                "expected the name of an environment variable that holds the URL (the URL itself, with its password, never goes in the file)",
            );
        }
    }

    fn binding(&mut self, i: usize, b: BindingEntry, declared: &BTreeSet<String>) -> Option<BindingDecl> {
        let database = b.database.get_ref().clone();
        if !declared.contains(&database) {
            self.warning(
                b.database.span(),
                format!("bindings[{i}].database"),
                format!("{database:?} is not among [[databases]]: its max_connections is detected or defaulted"),
            );
        }
        if let Some(var) = &b.url_env {
            self.env_name(var, format!("bindings[{i}].url_env"));
        }
        let target = TargetEntry { service: b.service, selector: b.selector, namespace: b.namespace };
        let services = self.target(&format!("bindings[{i}]"), target, i, "[[bindings]]")?;
        Some(BindingDecl {
            database,
            services,
            pool: b.pool,
            overflow: b.overflow,
            extra_per_pod: b.extra_per_pod,
            url_env: b.url_env.map(Spanned::into_inner),
            application_name: b.application_name,
        })
    }

    fn slo_rule(&mut self, i: usize, r: SloEntry) -> Option<SloRule> {
        let at = format!("slo[{i}]");
        let pattern = match parse_rule_pattern(r.pattern.get_ref()) {
            Ok(p) => p,
            Err(e) => {
                self.error(r.pattern.span(), format!("{at}.pattern"), e);
                return None;
            }
        };
        let severity = match r.severity.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("error") => Severity::Error,
            Some("warning") => Severity::Warning,
            Some(other) => {
                let span = r.severity.as_ref().map_or(0..0, Spanned::span);
                self.error(span, format!("{at}.severity"), format!("expected \"error\" or \"warning\", got {other:?}"));
                return None;
            }
        };
        let window = self.seconds(r.window.as_ref(), &format!("{at}.window"), 15 * 60)?;
        let startup_grace = self.seconds(r.startup_grace.as_ref(), &format!("{at}.startup_grace"), 0)?;
        let capture = match &r.capture {
            None => None,
            Some(c) => Some(self.capture(c, &at)?),
        };
        let target = TargetEntry { service: r.service, selector: r.selector, namespace: r.namespace };
        let services = self.optional_target(&at, target, i, "[[slo]]")?;
        let rule = SloRule {
            name: r.name.get_ref().clone(),
            pattern,
            services,
            severity,
            window_s: window,
            threshold: r.threshold.unwrap_or(1),
            startup_grace_s: startup_grace,
            sustained: r.sustained.map(|s| Sustained { per_minute: s.per_minute, minutes: s.minutes }),
            capture,
        };
        if let Err(e) = rule.validate() {
            self.error(r.name.span(), at, e);
            return None;
        }
        Some(rule)
    }

    /// A duration field (`15m`, `90s`) in whole seconds; `default` when absent.
    fn seconds(&mut self, text: Option<&Spanned<String>>, field: &str, default: i64) -> Option<i64> {
        let Some(text) = text else { return Some(default) };
        match parse_duration(text.get_ref()) {
            Ok(d) => Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(e) => {
                self.error(text.span(), field.to_string(), e);
                None
            }
        }
    }

    fn capture(&mut self, c: &Spanned<CaptureEntry>, at: &str) -> Option<Capture> {
        let entry = c.get_ref();
        let compare = match (entry.above, entry.at_least, entry.below) {
            (Some(t), None, None) => (Compare::Above, t),
            (None, Some(t), None) => (Compare::AtLeast, t),
            (None, None, Some(t)) => (Compare::Below, t),
            _ => {
                let message = "expected exactly one of above, at_least or below";
                self.error(c.span(), format!("{at}.capture"), message);
                return None;
            }
        };
        Some(Capture { group: entry.group.clone(), op: compare.0, target: compare.1 })
    }

    fn lint_rule(&mut self, i: usize, l: LintEntry) -> Option<LintRule> {
        let at = format!("lint[{i}]");
        let id = l.check.get_ref().as_str();
        if lint::check(id).is_none() {
            let known: Vec<&str> = lint::CHECKS.iter().map(|c| c.id).collect();
            let hint = match super::commands::closest(id, known.iter().copied()) {
                Some(close) => format!("; did you mean {close:?}?"),
                None => format!(" (known: {})", known.join(", ")),
            };
            self.error(l.check.span(), format!("{at}.check"), format!("unknown check {id:?}{hint}"));
            return None;
        }
        let severity = match l.severity.get_ref().as_str() {
            "off" => None,
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            other => {
                let message = format!("expected \"off\", \"info\", \"warning\" or \"error\", got {other:?}");
                self.error(l.severity.span(), format!("{at}.severity"), message);
                return None;
            }
        };
        let target = TargetEntry { service: l.service, selector: l.selector, namespace: l.namespace };
        let services = self.optional_target(&at, target, i, "[[lint]]")?;
        Some(LintRule { check: id.to_string(), severity, services })
    }

    /// Like [`Checker::target`], where naming no service means every service, and a
    /// namespace alone means every service in it. `None`: the entry was wrong (reported).
    fn optional_target(&mut self, at: &str, t: TargetEntry, i: usize, header: &str) -> Option<Option<ServiceMatch>> {
        match (&t.service, &t.selector, &t.namespace) {
            (None, None, None) => Some(None),
            (None, None, Some(ns)) => {
                Some(Some(ServiceMatch::Selector { namespace: Some(ns.clone()), requirements: Vec::new() }))
            }
            _ => self.target(at, t, i, header).map(Some),
        }
    }

    fn target(&mut self, at: &str, t: TargetEntry, i: usize, header: &str) -> Option<ServiceMatch> {
        match (t.service, t.selector) {
            (Some(service), None) => {
                let text = service.get_ref().trim();
                let (namespace, name) = match text.split_once('/') {
                    Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                    None => (t.namespace.clone(), text.to_string()),
                };
                if name.is_empty() || name.contains('/') || namespace.as_deref() == Some("") {
                    self.error(service.span(), format!("{at}.service"), "expected NAME or NAMESPACE/NAME");
                    return None;
                }
                Some(ServiceMatch::Named { namespace, name })
            }
            (None, Some(selector)) => match parse_selector(selector.get_ref()) {
                Ok(requirements) => Some(ServiceMatch::Selector { namespace: t.namespace, requirements }),
                Err(e) => {
                    self.error(selector.span(), format!("{at}.selector"), e);
                    None
                }
            },
            (Some(service), Some(_)) => {
                self.error(service.span(), at.to_string(), "expected either service or selector, not both");
                None
            }
            (None, None) => {
                let span = self.span_of_nth(header, i);
                self.error(span, at.to_string(), "expected service = \"NAMESPACE/NAME\" or selector = \"key=value\"");
                None
            }
        }
    }

    /// Where the `i`-th `[[header]]` table starts, for problems about a whole entry.
    fn span_of_nth(&self, header: &str, i: usize) -> Range<usize> {
        let start = self.text.match_indices(header).nth(i).map_or(0, |(at, _)| at);
        start..start
    }
}

/// `config check`: every profile in the profiles folder, `--profile`, and the built-in one.
pub fn check_all(paths: &Paths, explicit: Option<&Path>) -> (usize, Vec<Diagnostic>) {
    let mut diagnostics = parse(DEMO_PROFILE, &builtin_path("profile", "demo")).1;
    let mut files = files_in(&paths.profiles(), &["toml"]);
    if let Some(path) = explicit
        && !files.iter().any(|f| f == path)
    {
        files.push(path.to_path_buf());
    }
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(text) => diagnostics.extend(parse(&text, file).1),
            Err(e) => diagnostics.push(Diagnostic::error(file, format!("cannot read this profile: {e}"))),
        }
    }
    (files.len() + 1, diagnostics)
}

#[cfg(test)]
mod tests;
