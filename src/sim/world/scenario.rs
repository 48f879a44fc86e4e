//! Scenario files: ordinary Kubernetes manifests plus one `kind: Scenario` document
//! (`apiVersion: sim.cockpit.dev/v1`) that says how the simulated world behaves.
//!
//! ```yaml
//! apiVersion: sim.cockpit.dev/v1
//! kind: Scenario
//! metadata: {name: example}
//! spec:
//!   timeScale: 1            # real seconds per scenario second
//!   settled: true           # start as a cluster that has run for days (see `settle`)
//!   nodes: [{name: node-a, cpu: "8", memory: 32Gi, labels: {disk: ssd}}]
//!   defaults: {pull: 2s, start: 3s}
//!   images:
//!     - image: "ghcr.io/acme/api:*"
//!       start: 20s
//!       readiness: flapping          # healthy | never | flapping
//!       flapping: {ready: 40s, unready: 10s}
//!       crash: {after: 30s, exitCode: 1, message: "fatal: db unreachable"}
//!       logs:
//!         - {name: access, every: 2s, lines: ["GET /health 200 {int:1-9}ms"]}
//!         - {name: slo, every: 5s, enabled: false, lines: ["[SLO] latency {int:6000-9000}ms exceeded target 5000ms"]}
//!   loads: [{namespace: shop, name: api, utilization: 85}]
//!   hpa: {sync: 15s, scaleDownStabilization: 5m}
//!   timeline:
//!     - {at: 20s, enableLogs: {image: "ghcr.io/acme/api:*", generator: slo}}
//!     - {at: 30s, setImage: {namespace: shop, deployment: api, image: "ghcr.io/acme/api:1.1"}}
//!     - {at: 30s, setBehaviour: {image: "ghcr.io/acme/api:1.1", readiness: never}}
//!     - {at: 60s, hpaLoad: {namespace: shop, name: api, utilization: 95}}
//!     - {at: 90s, fault: {failNext: {count: 3, code: 503}}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::behaviour::{
    Action, Behaviour, Crash, Glob, HpaLoad, HpaTuning, ImageRule, LogGenerator, NodeConfig, Readiness, SimConfig,
    Step, Template, WorkloadKind, default_nodes,
};
use crate::config::diagnostic::Diagnostic;
use crate::config::duration::parse_duration;
use crate::config::yaml::{self, Document};
use crate::sim::resources::{ResourceType, resource_by_kind};
use crate::sim::spec::{FaultSpec, UserSpec};

pub const SCENARIO_API_VERSION: &str = "sim.cockpit.dev/v1";

/// The built-in scenarios, compiled in.
pub const BUILTINS: &[(&str, &str)] = &[
    ("demo", include_str!("../../../assets/scenarios/demo.yaml")),
    ("clean", include_str!("../../../assets/scenarios/clean.yaml")),
    ("ordinary", include_str!("../../../assets/scenarios/ordinary.yaml")),
];

/// What a file contributed: manifests in order, and at most one simulator section.
#[derive(Debug, Default)]
pub struct Parsed {
    pub name: Option<String>,
    pub objects: Vec<Value>,
    pub sim: Option<SimConfig>,
    pub users: Vec<UserSpec>,
}

/// A scenario duration: `5s`, `250ms`, `2m`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(Dur)
            .map_err(|e| serde::de::Error::custom(format!("{e} (expected e.g. 5s, 250ms, 2m)")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioDoc {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    metadata: Option<ScenarioMeta>,
    #[serde(default)]
    spec: SpecDoc,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioMeta {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SpecDoc {
    time_scale: Option<Spanned<f64>>,
    #[serde(default)]
    nodes: Vec<NodeDoc>,
    #[serde(default)]
    users: Vec<UserSpec>,
    defaults: Option<Spanned<BehaviourDoc>>,
    #[serde(default)]
    images: Vec<Spanned<BehaviourDoc>>,
    #[serde(default)]
    loads: Vec<HpaLoadDoc>,
    hpa: Option<HpaDoc>,
    #[serde(default)]
    timeline: Vec<Spanned<StepDoc>>,
    #[serde(default)]
    settled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NodeDoc {
    name: String,
    #[serde(default)]
    cpu: Option<String>,
    #[serde(default)]
    memory: Option<String>,
    #[serde(default)]
    pods: Option<u32>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BehaviourDoc {
    image: Option<String>,
    namespace: Option<String>,
    pull: Option<Dur>,
    start: Option<Dur>,
    readiness: Option<ReadinessDoc>,
    flapping: Option<FlappingDoc>,
    crash: Option<CrashDoc>,
    shutdown: Option<Dur>,
    logs: Option<Vec<LogDoc>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "camelCase")]
enum ReadinessDoc {
    Healthy,
    Never,
    Flapping,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FlappingDoc {
    ready: Dur,
    unready: Dur,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CrashDoc {
    after: Dur,
    #[serde(default = "one")]
    exit_code: i32,
    message: Option<String>,
}

fn one() -> i32 {
    1
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LogDoc {
    name: String,
    every: Dur,
    #[serde(default = "yes")]
    enabled: bool,
    lines: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HpaLoadDoc {
    namespace: String,
    name: String,
    utilization: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HpaDoc {
    sync: Option<Dur>,
    scale_down_stabilization: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StepDoc {
    at: Dur,
    enable_logs: Option<LogToggleDoc>,
    disable_logs: Option<LogToggleDoc>,
    set_behaviour: Option<BehaviourDoc>,
    set_image: Option<SetImageDoc>,
    hpa_load: Option<HpaLoadDoc>,
    scale: Option<ScaleDoc>,
    fault: Option<FaultDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LogToggleDoc {
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    generator: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetImageDoc {
    namespace: String,
    deployment: Option<String>,
    statefulset: Option<String>,
    container: Option<String>,
    image: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScaleDoc {
    namespace: String,
    deployment: Option<String>,
    statefulset: Option<String>,
    replicas: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
enum FaultDoc {
    DropWatches,
    ExpireVersions,
    FailNext { count: u32, code: u16 },
    Hang { count: u32, duration: Dur },
    Latency(Dur),
    RestartListener,
    SilenceWatches,
    Forbid { user: String, verb: String, resource: String },
    Clear,
}

impl FaultDoc {
    fn into_spec(self) -> FaultSpec {
        match self {
            FaultDoc::DropWatches => FaultSpec::DropWatches,
            FaultDoc::ExpireVersions => FaultSpec::ExpireVersions,
            FaultDoc::FailNext { count, code } => FaultSpec::FailNext { count, code },
            FaultDoc::Hang { count, duration } => FaultSpec::Hang { count, duration: duration.0 },
            FaultDoc::Latency(d) => FaultSpec::Latency { duration: d.0 },
            FaultDoc::RestartListener => FaultSpec::RestartListener,
            FaultDoc::SilenceWatches => FaultSpec::SilenceWatches,
            FaultDoc::Forbid { user, verb, resource } => FaultSpec::Forbid { user, verb, resource },
            FaultDoc::Clear => FaultSpec::Clear,
        }
    }
}

type LoadResult<T> = Result<T, Box<Diagnostic>>;

/// Parses a whole file (manifests and at most one Scenario document).
pub fn parse_file(file: &Path, text: &str) -> LoadResult<Parsed> {
    let mut parsed = Parsed::default();
    for doc in yaml::split_documents(text) {
        let head: Value = yaml::parse(file, &doc)?;
        let Some(head_map) = head.as_object() else {
            return Err(yaml::problem(
                file,
                &doc,
                "",
                "expected a Kubernetes object (a mapping with apiVersion and kind)",
            ));
        };
        let api_version = head_map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = head_map.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() {
            return Err(yaml::problem(file, &doc, "kind", "missing kind: expected a Kubernetes kind or Scenario"));
        }
        if api_version.is_empty() {
            return Err(yaml::problem(file, &doc, "apiVersion", format!("missing apiVersion for kind {kind}")));
        }
        if kind == "Scenario" && api_version == SCENARIO_API_VERSION {
            if parsed.sim.is_some() {
                return Err(yaml::problem(file, &doc, "kind", "a scenario may contain only one Scenario document"));
            }
            let scenario: ScenarioDoc = yaml::parse(file, &doc)?;
            parsed.name = scenario.metadata.map(|m| m.name);
            parsed.users = scenario.spec.users.clone();
            parsed.sim = Some(resolve_spec(file, &doc, scenario.spec)?);
            continue;
        }
        if kind == "List" && api_version == "v1" {
            let items = head.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            for (i, item) in items.into_iter().enumerate() {
                let field = format!("items[{i}]");
                check_manifest(file, &doc, &field, &item)?;
                parsed.objects.push(item);
            }
            continue;
        }
        if !is_custom_group(&head) {
            check_typed(file, &doc, &head)?;
        }
        check_manifest(file, &doc, "", &head)?;
        parsed.objects.push(head);
    }
    Ok(parsed)
}

fn served(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    resource_by_kind(api_version, kind).filter(|rt| !rt.plural.starts_with("selfsubject"))
}

/// Whether an object's group can only come from a CustomResourceDefinition (a DNS name
/// with a dot, outside the reserved `*.k8s.io`): such kinds are checked when the
/// scenario is seeded, once its CRDs exist, not when it is parsed.
pub fn is_custom_group(obj: &Value) -> bool {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    match api_version.split_once('/') {
        Some((group, _)) => group.contains('.') && !group.ends_with(".k8s.io") && !group.ends_with(".kubernetes.io"),
        None => false,
    }
}

fn check_manifest(file: &Path, doc: &Document, prefix: &str, obj: &Value) -> LoadResult<()> {
    let field = |f: &str| if prefix.is_empty() { f.to_string() } else { format!("{prefix}.{f}") };
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if is_custom_group(obj) {
        if obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").is_empty() {
            return Err(yaml::problem(file, doc, &field("metadata.name"), format!("{kind} needs metadata.name")));
        }
        return Ok(());
    }
    let Some(rt) = served(api_version, kind) else {
        let known = crate::sim::resources::RESOURCES
            .iter()
            .filter(|r| !r.plural.starts_with("selfsubject"))
            .map(|r| format!("{}/{}", r.api_version(), r.kind))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(yaml::problem(
            file,
            doc,
            &field("kind"),
            format!(
                "unknown kind {api_version}/{kind}: the simulator serves {known}, and {SCENARIO_API_VERSION}/Scenario"
            ),
        ));
    };
    if obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").is_empty() {
        return Err(yaml::problem(file, doc, &field("metadata.name"), format!("{kind} needs metadata.name")));
    }
    if matches!(rt.plural, "deployments" | "statefulsets" | "replicasets") {
        let selector = obj.pointer("/spec/selector");
        let labels = super::objects::string_map(obj.pointer("/spec/template/metadata/labels"));
        if selector.is_none_or(Value::is_null) {
            return Err(yaml::problem(file, doc, &field("spec.selector"), "Required value: a label selector"));
        }
        if !super::objects::label_selector_matches(selector, &labels) {
            return Err(yaml::problem(
                file,
                doc,
                &field("spec.template.metadata.labels"),
                "Invalid value: `selector` does not match template `labels`",
            ));
        }
        let containers = obj.pointer("/spec/template/spec/containers").and_then(Value::as_array);
        if containers.is_none_or(Vec::is_empty) {
            return Err(yaml::problem(
                file,
                doc,
                &field("spec.template.spec.containers"),
                "Required value: at least one container",
            ));
        }
    }
    Ok(())
}

/// Deserialises the document into its k8s-openapi type, so a wrong type anywhere
/// (`replicas: three`) is reported with its line rather than failing later.
fn check_typed(file: &Path, doc: &Document, obj: &Value) -> LoadResult<()> {
    use k8s_openapi::api::{apps::v1 as apps, autoscaling::v2 as autoscaling, core::v1 as core, policy::v1 as policy};
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    match kind {
        "Deployment" => yaml::parse::<apps::Deployment>(file, doc).map(drop),
        "StatefulSet" => yaml::parse::<apps::StatefulSet>(file, doc).map(drop),
        "ReplicaSet" => yaml::parse::<apps::ReplicaSet>(file, doc).map(drop),
        "DaemonSet" => yaml::parse::<apps::DaemonSet>(file, doc).map(drop),
        "PodDisruptionBudget" => yaml::parse::<policy::PodDisruptionBudget>(file, doc).map(drop),
        "HorizontalPodAutoscaler" => yaml::parse::<autoscaling::HorizontalPodAutoscaler>(file, doc).map(drop),
        "Service" => yaml::parse::<core::Service>(file, doc).map(drop),
        "PersistentVolumeClaim" => yaml::parse::<core::PersistentVolumeClaim>(file, doc).map(drop),
        "ConfigMap" => yaml::parse::<core::ConfigMap>(file, doc).map(drop),
        "Secret" => yaml::parse::<core::Secret>(file, doc).map(drop),
        "Pod" => yaml::parse::<core::Pod>(file, doc).map(drop),
        "Node" => yaml::parse::<core::Node>(file, doc).map(drop),
        "Namespace" => yaml::parse::<core::Namespace>(file, doc).map(drop),
        _ => Ok(()),
    }
}

fn resolve_spec(file: &Path, doc: &Document, spec: SpecDoc) -> LoadResult<SimConfig> {
    let mut config = SimConfig::default();
    if let Some(scale) = spec.time_scale {
        if !(scale.value > 0.0 && scale.value.is_finite()) {
            return Err(yaml::problem_at(
                file,
                doc,
                scale.referenced.line() as usize,
                "spec.timeScale",
                format!(
                    "expected a positive number (1 = real time, 0.01 = a hundred times faster), got {}",
                    scale.value
                ),
            ));
        }
        config.time_scale = scale.value;
    }
    config.settled = spec.settled;
    if !spec.nodes.is_empty() {
        config.nodes = spec
            .nodes
            .into_iter()
            .map(|n| NodeConfig {
                name: n.name,
                cpu: n.cpu.unwrap_or_else(|| "8".into()),
                memory: n.memory.unwrap_or_else(|| "32Gi".into()),
                pods: n.pods.unwrap_or(110),
                labels: n.labels,
            })
            .collect();
    } else {
        config.nodes = default_nodes();
    }
    for (i, node) in config.nodes.iter().enumerate() {
        for (what, value) in [("cpu", &node.cpu), ("memory", &node.memory)] {
            if super::objects::parse_quantity(value).is_none() {
                return Err(yaml::problem(
                    file,
                    doc,
                    &format!("spec.nodes[{i}].{what}"),
                    format!("expected a Kubernetes quantity like \"8\", \"500m\", \"32Gi\", got {value:?}"),
                ));
            }
        }
    }
    if let Some(defaults) = spec.defaults {
        let line = defaults.referenced.line() as usize;
        if defaults.value.image.is_some() || defaults.value.namespace.is_some() {
            return Err(yaml::problem_at(
                file,
                doc,
                line,
                "spec.defaults",
                "defaults apply to every image: remove image/namespace",
            ));
        }
        config.defaults = resolve_behaviour(file, doc, line, "spec.defaults", &defaults.value, &Behaviour::default())?;
    }
    for (i, rule) in spec.images.iter().enumerate() {
        let line = rule.referenced.line() as usize;
        let field = format!("spec.images[{i}]");
        let Some(image) = rule.value.image.clone() else {
            return Err(yaml::problem_at(
                file,
                doc,
                line,
                &format!("{field}.image"),
                "expected an image pattern like \"ghcr.io/acme/api:*\"",
            ));
        };
        let behaviour = resolve_behaviour(file, doc, line, &field, &rule.value, &config.defaults)?;
        config.rules.push(ImageRule {
            image: Glob(image),
            namespace: rule.value.namespace.clone().map(Glob).unwrap_or_else(Glob::any),
            behaviour,
        });
    }
    config.loads = spec.loads.into_iter().map(load_of).collect();
    if let Some(hpa) = spec.hpa {
        let defaults = HpaTuning::default();
        config.hpa = HpaTuning {
            sync: hpa.sync.map(|d| d.0).unwrap_or(defaults.sync),
            scale_down_stabilization: hpa
                .scale_down_stabilization
                .map(|d| d.0)
                .unwrap_or(defaults.scale_down_stabilization),
        };
        if config.hpa.sync.is_zero() {
            return Err(yaml::problem(file, doc, "spec.hpa.sync", "expected a positive duration like 15s"));
        }
    }
    for (i, step) in spec.timeline.into_iter().enumerate() {
        let line = step.referenced.line() as usize;
        let field = format!("spec.timeline[{i}]");
        let action = resolve_step(file, doc, line, &field, step.value, &config)?;
        config.timeline.push(action);
    }
    config.timeline.sort_by_key(|s| s.at);
    Ok(config)
}

fn load_of(l: HpaLoadDoc) -> HpaLoad {
    HpaLoad { namespace: l.namespace, name: l.name, utilization: l.utilization }
}

fn resolve_behaviour(
    file: &Path,
    doc: &Document,
    line: usize,
    field: &str,
    b: &BehaviourDoc,
    base: &Behaviour,
) -> LoadResult<Behaviour> {
    let mut out = base.clone();
    if let Some(d) = b.pull {
        out.pull = d.0;
    }
    if let Some(d) = b.start {
        out.start = d.0;
    }
    if let Some(d) = b.shutdown {
        out.shutdown = d.0;
    }
    match (b.readiness, &b.flapping) {
        (Some(ReadinessDoc::Healthy), None) => out.readiness = Readiness::Healthy,
        (Some(ReadinessDoc::Never), None) => out.readiness = Readiness::Never,
        (Some(ReadinessDoc::Flapping) | None, Some(f)) => {
            if f.ready.0.is_zero() || f.unready.0.is_zero() {
                return Err(yaml::problem_at(
                    file,
                    doc,
                    line,
                    &format!("{field}.flapping"),
                    "ready and unready must be longer than 0",
                ));
            }
            out.readiness = Readiness::Flapping { ready: f.ready.0, unready: f.unready.0 }
        }
        (Some(ReadinessDoc::Flapping), None) => {
            out.readiness = Readiness::Flapping { ready: Duration::from_secs(30), unready: Duration::from_secs(10) }
        }
        (Some(_), Some(_)) => {
            return Err(yaml::problem_at(
                file,
                doc,
                line,
                &format!("{field}.flapping"),
                "flapping timings need readiness: flapping",
            ));
        }
        (None, None) => {}
    }
    if let Some(c) = &b.crash {
        out.crash = Some(Crash { after: c.after.0, exit_code: c.exit_code, message: c.message.clone() });
    }
    if let Some(logs) = &b.logs {
        out.logs.clear();
        for (i, l) in logs.iter().enumerate() {
            let lfield = format!("{field}.logs[{i}]");
            if l.every.0.is_zero() {
                return Err(yaml::problem_at(
                    file,
                    doc,
                    line,
                    &format!("{lfield}.every"),
                    "expected a positive interval like 2s",
                ));
            }
            if l.lines.is_empty() {
                return Err(yaml::problem_at(
                    file,
                    doc,
                    line,
                    &format!("{lfield}.lines"),
                    "expected at least one line template",
                ));
            }
            let mut lines = Vec::new();
            for (j, text) in l.lines.iter().enumerate() {
                let template = Template::parse(text)
                    .map_err(|e| yaml::problem_at(file, doc, line, &format!("{lfield}.lines[{j}]"), e))?;
                lines.push(template);
            }
            out.logs.push(LogGenerator { name: l.name.clone(), every: l.every.0, enabled: l.enabled, lines });
        }
    }
    Ok(out)
}

fn workload(
    file: &Path,
    doc: &Document,
    line: usize,
    field: &str,
    deployment: Option<String>,
    statefulset: Option<String>,
) -> LoadResult<(WorkloadKind, String)> {
    match (deployment, statefulset) {
        (Some(d), None) => Ok((WorkloadKind::Deployment, d)),
        (None, Some(s)) => Ok((WorkloadKind::StatefulSet, s)),
        _ => Err(yaml::problem_at(file, doc, line, field, "expected exactly one of deployment or statefulset")),
    }
}

fn resolve_step(
    file: &Path,
    doc: &Document,
    line: usize,
    field: &str,
    s: StepDoc,
    config: &SimConfig,
) -> LoadResult<Step> {
    let mut actions = Vec::new();
    if let Some(t) = s.enable_logs {
        actions.push(toggle(t, true));
    }
    if let Some(t) = s.disable_logs {
        actions.push(toggle(t, false));
    }
    if let Some(b) = s.set_behaviour {
        let Some(image) = b.image.clone() else {
            return Err(yaml::problem_at(
                file,
                doc,
                line,
                &format!("{field}.setBehaviour.image"),
                "expected an image pattern",
            ));
        };
        let namespace = b.namespace.clone().map(Glob).unwrap_or_else(Glob::any);
        let base = config
            .rules
            .iter()
            .find(|r| r.image.0 == image && r.namespace == namespace)
            .map(|r| &r.behaviour)
            .unwrap_or(&config.defaults);
        let behaviour = resolve_behaviour(file, doc, line, &format!("{field}.setBehaviour"), &b, base)?;
        actions.push(Action::SetBehaviour(ImageRule { image: Glob(image), namespace, behaviour }));
    }
    if let Some(si) = s.set_image {
        let (kind, name) = workload(file, doc, line, &format!("{field}.setImage"), si.deployment, si.statefulset)?;
        actions.push(Action::SetImage {
            namespace: si.namespace,
            kind,
            name,
            container: si.container,
            image: si.image,
        });
    }
    if let Some(l) = s.hpa_load {
        actions.push(Action::HpaLoad(load_of(l)));
    }
    if let Some(sc) = s.scale {
        let (kind, name) = workload(file, doc, line, &format!("{field}.scale"), sc.deployment, sc.statefulset)?;
        if sc.replicas < 0 {
            return Err(yaml::problem_at(
                file,
                doc,
                line,
                &format!("{field}.scale.replicas"),
                "expected 0 or more replicas",
            ));
        }
        actions.push(Action::Scale { namespace: sc.namespace, kind, name, replicas: sc.replicas });
    }
    if let Some(f) = s.fault {
        actions.push(Action::Fault(f.into_spec()));
    }
    if actions.len() != 1 {
        return Err(yaml::problem_at(
            file,
            doc,
            line,
            field,
            format!(
                "expected exactly one action (enableLogs, disableLogs, setBehaviour, setImage, hpaLoad, scale, fault), found {}",
                actions.len()
            ),
        ));
    }
    Ok(Step { at: s.at.0, action: actions.remove(0) })
}

fn toggle(t: LogToggleDoc, enabled: bool) -> Action {
    Action::Logs {
        image: t.image.map(Glob).unwrap_or_else(Glob::any),
        namespace: t.namespace.map(Glob).unwrap_or_else(Glob::any),
        generator: t.generator,
        enabled,
    }
}

/// The manifest files of a directory: `*.yaml`, `*.yml`, `*.json`, sorted by path so the
/// order is stable. Subdirectories are walked too, as `kubectl apply -R` would.
pub fn manifest_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Diagnostic {
        *parse_file(Path::new("bad.yaml"), text).unwrap_err()
    }

    #[test]
    fn every_builtin_scenario_parses() {
        for (name, text) in BUILTINS {
            let parsed = parse_file(&crate::config::diagnostic::builtin_path("scenario", name), text)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(parsed.sim.is_some(), "{name} has a Scenario document");
            assert!(!parsed.objects.is_empty(), "{name} has manifests");
        }
    }

    #[test]
    fn unknown_kind_names_file_line_and_kinds() {
        let d = err(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: x}\n",
        );
        assert_eq!(d.file, Path::new("bad.yaml"));
        assert_eq!(d.line, Some(6));
        assert_eq!(d.field.as_deref(), Some("kind"));
        assert!(d.message.contains("unknown kind batch/v1/CronJob"), "{}", d.message);
        assert!(d.message.contains("apps/v1/Deployment"), "{}", d.message);
    }

    #[test]
    fn wrong_type_in_a_manifest_points_at_the_field() {
        let d = err(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: three\n  selector: {matchLabels: {app: api}}\n",
        );
        assert_eq!(d.line, Some(6));
        assert_eq!(d.field.as_deref(), Some("spec.replicas"));
        assert!(d.message.contains("invalid"), "{}", d.message);
    }

    #[test]
    fn selector_mismatch_is_reported_on_the_labels() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers: [{name: c, image: i}]\n";
        let d = err(text);
        assert_eq!(d.field.as_deref(), Some("spec.template.metadata.labels"));
        assert_eq!(d.line, Some(10));
    }

    #[test]
    fn scenario_errors_name_the_field_and_expectation() {
        let text =
            "apiVersion: sim.cockpit.dev/v1\nkind: Scenario\nspec:\n  images:\n    - image: a\n      start: 5y\n";
        let d = err(text);
        assert_eq!(d.line, Some(6));
        assert_eq!(d.field.as_deref(), Some("spec.images[0].start"));
        assert!(d.message.contains("expected e.g. 5s"), "{}", d.message);

        let text = "apiVersion: sim.cockpit.dev/v1\nkind: Scenario\nspec:\n  images:\n    - image: a\n      readyness: never\n";
        let d = err(text);
        assert_eq!(d.line, Some(6));
        assert!(d.message.contains("unknown field `readyness`"), "{}", d.message);

        let text = "apiVersion: sim.cockpit.dev/v1\nkind: Scenario\nspec:\n  timeline:\n    - at: 5s\n    - at: 6s\n      hpaLoad: {namespace: a, name: b, utilization: 50}\n";
        let d = err(text);
        assert_eq!(d.line, Some(5));
        assert_eq!(d.field.as_deref(), Some("spec.timeline[0]"));
        assert!(d.message.contains("expected exactly one action"), "{}", d.message);

        let text = "apiVersion: sim.cockpit.dev/v1\nkind: Scenario\nspec:\n  images:\n    - image: a\n      logs:\n        - {name: x, every: 1s, lines: [\"{nope}\"]}\n";
        let d = err(text);
        assert_eq!(d.field.as_deref(), Some("spec.images[0].logs[0].lines[0]"));
        assert!(d.message.contains("unknown placeholder {nope}"), "{}", d.message);
    }

    #[test]
    fn timeline_is_sorted_and_faults_parse() {
        let text = "apiVersion: sim.cockpit.dev/v1\nkind: Scenario\nspec:\n  timeScale: 0.5\n  timeline:\n    - {at: 10s, fault: dropWatches}\n    - {at: 2s, fault: {failNext: {count: 2, code: 503}}}\n    - {at: 20s, fault: silenceWatches}\n";
        let parsed = parse_file(Path::new("t.yaml"), text).unwrap();
        let sim = parsed.sim.unwrap();
        assert_eq!(sim.time_scale, 0.5);
        assert_eq!(sim.timeline[0].at, Duration::from_secs(2));
        assert!(matches!(sim.timeline[0].action, Action::Fault(FaultSpec::FailNext { count: 2, code: 503 })));
        assert!(matches!(sim.timeline[1].action, Action::Fault(FaultSpec::DropWatches)));
        assert!(matches!(sim.timeline[2].action, Action::Fault(FaultSpec::SilenceWatches)));
    }
}
