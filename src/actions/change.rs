//! Changes to a workload's spec or its autoscaler, as plans: set image, set env, a patch
//! (strategic or merge), and the autoscaler's bounds. Each has a preview, guards and the
//! kubectl command, like a scale; runbook steps and the cockpit's wizards build the same
//! plans, so there is one way a change is previewed, dry-run, confirmed and sent.

use serde_json::Value;

use super::guard::{Guard, PreviewLine};
use super::plan::{Action, ActionPlan, kubectl_kind};
use crate::model::budget::{BudgetState, DatabaseBudget, format_percent};
use crate::model::gitops::OwnerKind;
use crate::model::lint::sliding_tag;
use crate::model::sanitize::{Sgr, sanitize};
use crate::model::service::{EnvValue, RolloutState, Service, Severity};

pub use crate::cluster::mutate::PatchStrategy;

/// What the plan changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    SetImage {
        container: String,
        image: String,
        /// The image the container runs now.
        from: String,
    },
    /// Literal values to set (`Some`) or variables to remove (`None`), in the containers
    /// named (every container when none is named, as kubectl does it).
    SetEnv {
        containers: Vec<String>,
        vars: Vec<(String, Option<String>)>,
    },
    Patch {
        strategy: PatchStrategy,
        body: Value,
    },
    /// The plan's resourceVersion is the autoscaler's, not the workload's.
    HpaBounds {
        hpa: String,
        from: (i32, i32),
        to: (i32, i32),
    },
    /// Suspend (`true`) or resume the service's GitOps owner with a merge patch of the
    /// owner (not the workload; no resourceVersion precondition).
    GitOpsSuspend {
        owner: Box<OwnerPatch>,
        suspend: bool,
    },
}

/// The GitOps owner a suspend or resume patches, and the merge patch it sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerPatch {
    pub kind: OwnerKind,
    pub namespace: String,
    pub name: String,
    pub body: Value,
}

impl Change {
    /// The audit log's and the screen's name for it.
    pub fn name(&self) -> &'static str {
        match self {
            Change::SetImage { .. } => "set image",
            Change::SetEnv { .. } => "set env",
            Change::Patch { .. } => "patch",
            Change::HpaBounds { .. } => "hpa bounds",
            Change::GitOpsSuspend { suspend: true, .. } => "suspend gitops",
            Change::GitOpsSuspend { suspend: false, .. } => "resume gitops",
        }
    }

    /// The change in words, on `target` (`set image shop/deploy/api api=acme/api:1.5`).
    pub fn describe(&self, target: &str) -> String {
        match self {
            Change::SetImage { container, image, .. } => format!("set image {target} {container}={image}"),
            Change::SetEnv { vars, .. } => {
                let names: Vec<String> = vars
                    .iter()
                    .map(|(name, value)| if value.is_some() { name.clone() } else { format!("{name}-") })
                    .collect();
                format!("set env {target} {}", names.join(" "))
            }
            Change::Patch { strategy, .. } => format!("patch ({}) {target}", strategy.as_str()),
            Change::HpaBounds { hpa, to, .. } => format!("set autoscaler {hpa} of {target} to {}..{}", to.0, to.1),
            Change::GitOpsSuspend { owner, suspend } => format!(
                "{} {} {} {}/{} (owner of {target})",
                if *suspend { "suspend" } else { "resume" },
                owner.kind.tool(),
                owner.kind.as_str(),
                owner.namespace,
                owner.name
            ),
        }
    }

    /// Whether pods are replaced (a template change), so the rollout is worth following.
    pub fn rolls_pods(&self) -> bool {
        !matches!(self, Change::HpaBounds { .. } | Change::GitOpsSuspend { .. })
    }

    /// Whether the cluster already has this change, judged from the model alone; `None`
    /// when only the API server can tell (a patch).
    pub fn already_applied(&self, service: &Service) -> Option<bool> {
        match self {
            Change::SetImage { container, image, .. } => {
                Some(service.containers.iter().any(|c| &c.container == container && &c.image == image))
            }
            Change::SetEnv { containers, vars } => Some(vars.iter().all(|(name, value)| {
                let rows = service.env.iter().filter(|e| &e.name == name);
                let mut rows = rows.filter(|e| containers.contains(&e.container)).peekable();
                match value {
                    None => rows.peek().is_none(),
                    Some(v) => rows.peek().is_some() && rows.all(|e| e.value == EnvValue::Literal(v.clone())),
                }
            })),
            Change::Patch { .. } => None,
            Change::HpaBounds { to, .. } => Some(service.hpa.as_ref().is_some_and(|h| (h.min, h.max) == *to)),
            Change::GitOpsSuspend { suspend, .. } => {
                let owner = service.gitops.as_ref().and_then(|g| g.state.as_ref());
                Some(owner.is_some_and(|o| o.suspended == *suspend))
            }
        }
    }
}

/// Suspends (`true`) or resumes the GitOps owner of `service`: Flux `spec.suspend`, Argo
/// CD auto-sync (its `automated` policy kept in an annotation while suspended).
pub fn plan_gitops_suspend(service: &Service, suspend: bool) -> ActionPlan {
    let verb = if suspend { "suspend" } else { "resume" };
    let Some(g) = &service.gitops else {
        let change = Change::GitOpsSuspend {
            owner: Box::new(OwnerPatch {
                kind: OwnerKind::Kustomization,
                namespace: String::new(),
                name: String::new(),
                body: Value::Null,
            }),
            suspend,
        };
        let mut plan = plan(service, change, String::new());
        plan.guards.push(block("no-gitops-owner", format!("no Flux or Argo CD object applies {}", service.key.name)));
        return plan;
    };
    let Some(owner) = &g.state else {
        let change = Change::GitOpsSuspend {
            owner: Box::new(OwnerPatch {
                kind: g.owner.kind,
                namespace: g.owner.namespace.clone().unwrap_or_default(),
                name: g.owner.name.clone(),
                body: Value::Null,
            }),
            suspend,
        };
        let mut plan = plan(service, change, String::new());
        plan.guards.push(block(
            "gitops-owner-unknown",
            format!("{} could not be read (its API is not served, or no access): nothing to {verb}", g.describe()),
        ));
        return plan;
    };
    let body = owner.suspend_patch(suspend);
    let resource = format!("{}.{}", plural(owner.kind), owner.kind.api_version().split('/').next().unwrap_or(""));
    let kubectl = format!(
        "kubectl patch {resource} {} -n {} --type=merge -p '{}'",
        owner.name,
        owner.namespace,
        sanitize(&body.to_string(), Sgr::Strip)
    );
    let change = Change::GitOpsSuspend {
        owner: Box::new(OwnerPatch {
            kind: owner.kind,
            namespace: owner.namespace.clone(),
            name: owner.name.clone(),
            body,
        }),
        suspend,
    };
    let mut plan = plan(service, change, kubectl);
    plan.resource_version = None;
    let what = if owner.kind == OwnerKind::Application { "auto-sync" } else { "reconciliation" };
    if suspend {
        plan.preview.push(line(
            "gitops",
            format!(
                "{}: {what} stops; manual changes to every workload it applies stick until it is resumed",
                g.describe()
            ),
            Severity::Warning,
        ));
    } else {
        plan.preview.push(line(
            "gitops",
            format!("{}: {what} resumes; the next reconcile sets what it applies back to git", g.describe()),
            Severity::Info,
        ));
        for d in &g.drift {
            plan.preview.push(line("reverts", d.describe(), Severity::Warning));
        }
    }
    plan
}

/// `kustomizations`, `helmreleases`, `applications`.
fn plural(kind: OwnerKind) -> &'static str {
    match kind {
        OwnerKind::Kustomization => "kustomizations",
        OwnerKind::HelmRelease => "helmreleases",
        OwnerKind::Application => "applications",
    }
}

fn block(id: &'static str, message: String) -> Guard {
    Guard::block(id, message, None)
}

fn line(label: &'static str, text: String, severity: Severity) -> PreviewLine {
    PreviewLine { label, text, severity }
}

fn plan(service: &Service, change: Change, kubectl: String) -> ActionPlan {
    ActionPlan::new(service, Action::Change(change), kubectl)
}

/// Warnings every template change shares: who else owns the workload, and what a rolling
/// update of it will run into.
fn template_guards(service: &Service) -> Vec<Guard> {
    let mut guards = Vec::new();
    if let Some(owner) = &service.gitops {
        guards.push(Guard::warn(
            "gitops-managed",
            format!("{} is {}", service.key.name, owner.revert_warning()),
            Some(super::guard::gitops_alternative(owner, "the template")),
        ));
    } else if let Some(tool) = &service.flags.gitops {
        guards.push(Guard::warn(
            "gitops-managed",
            format!("{} is managed by {tool}: the next reconcile reverts this change", service.key.name),
            Some("change it in Git, or suspend the reconciliation first".into()),
        ));
    }
    if service.rollout.state == RolloutState::Paused {
        guards.push(Guard::warn("paused", "the rollout is paused: the change waits for a resume".into(), None));
    }
    guards.extend(super::guard::rwo_volume(service));
    guards
}

fn unknown_container(service: &Service, container: &str) -> Option<Guard> {
    if service.containers.iter().any(|c| c.container == container) {
        return None;
    }
    let known: Vec<&str> = service.containers.iter().map(|c| c.container.as_str()).collect();
    Some(block(
        "no-such-container",
        format!("{} has no container {container} (it has: {})", service.key.name, known.join(", ")),
    ))
}

/// `kubectl set image`: `container` may be omitted when the pod has one container.
pub fn plan_set_image(service: &Service, container: Option<&str>, image: &str) -> ActionPlan {
    let container = match container {
        Some(c) => c.to_string(),
        None if service.containers.len() == 1 => service.containers[0].container.clone(),
        None => String::new(),
    };
    let from = service.containers.iter().find(|c| c.container == container).map(|c| c.image.clone());
    let key = &service.key;
    let kubectl =
        format!("kubectl set image {}/{} -n {} {container}={image}", kubectl_kind(key), key.name, key.namespace);
    let change = Change::SetImage {
        container: container.clone(),
        image: image.to_string(),
        from: from.clone().unwrap_or_default(),
    };
    let mut plan = plan(service, change, kubectl);
    if container.is_empty() {
        let known: Vec<&str> = service.containers.iter().map(|c| c.container.as_str()).collect();
        plan.guards.push(block("container-needed", format!("name the container: {}", known.join(", "))));
        return plan;
    }
    if let Some(guard) = unknown_container(service, &container) {
        plan.guards.push(guard);
        return plan;
    }
    if image.trim().is_empty() || image.chars().any(char::is_whitespace) {
        plan.guards.push(block("invalid-image", format!("\"{image}\" is not an image reference")));
        return plan;
    }
    let from = from.unwrap_or_default();
    let text = if from == image {
        format!("{container}: {image} (unchanged)")
    } else {
        format!("{container}: {from} → {image}")
    };
    plan.preview.push(line("image", text, Severity::Info));
    plan.preview.push(line(
        "pods",
        format!("all {} pods are replaced by a rolling update", service.replicas.desired),
        Severity::Info,
    ));
    if let Some(why) = sliding_tag(image) {
        plan.guards.push(Guard::warn(
            "image-sliding-tag",
            format!("{image} does not pin a version ({why}): what runs can change without a rollout, and a rollback cannot bring back what ran"),
            Some("use an immutable tag (1.4.2) or a digest (@sha256:…)".into()),
        ));
    }
    plan.guards.extend(template_guards(service));
    plan
}

/// `kubectl set env`: literal values only — values that come from Secrets are never
/// read, so they are never written back either.
pub fn plan_set_env(service: &Service, container: Option<&str>, vars: &[(String, Option<String>)]) -> ActionPlan {
    let key = &service.key;
    let args: Vec<String> = vars
        .iter()
        .map(|(name, value)| match value {
            Some(v) => format!("{name}={}", shell_quote(v)),
            None => format!("{name}-"),
        })
        .collect();
    let scope = container.map_or_else(String::new, |c| format!(" -c {c}"));
    let kubectl =
        format!("kubectl set env {}/{} -n {}{scope} {}", kubectl_kind(key), key.name, key.namespace, args.join(" "));
    let containers = match container {
        Some(c) => vec![c.to_string()],
        None => service.containers.iter().map(|c| c.container.clone()).collect(),
    };
    let change = Change::SetEnv { containers, vars: vars.to_vec() };
    let mut plan = plan(service, change, kubectl);
    if let Some(guard) = container.and_then(|c| unknown_container(service, c)) {
        plan.guards.push(guard);
        return plan;
    }
    if vars.is_empty() {
        plan.guards.push(block("nothing-to-set", "no variable to set or remove".into()));
        return plan;
    }
    for (name, value) in vars {
        if !valid_env_name(name) {
            plan.guards.push(block("invalid-env-name", format!("\"{name}\" is not a valid variable name")));
            continue;
        }
        let now: Vec<&EnvValue> = service
            .env
            .iter()
            .filter(|e| &e.name == name && container.is_none_or(|c| e.container == c))
            .map(|e| &e.value)
            .collect();
        let before = match now.first() {
            None => "unset".to_string(),
            Some(EnvValue::Literal(v)) => format!("\"{v}\""),
            Some(EnvValue::FromSecret { secret, key }) => format!("from Secret {secret} ({key}), not shown"),
            Some(EnvValue::FromConfigMap { config_map, key }) => format!("from ConfigMap {config_map} ({key})"),
            Some(EnvValue::FromField(f) | EnvValue::FromResource(f)) => format!("from {f}"),
        };
        let after =
            value.as_ref().map_or_else(|| "removed".to_string(), |v| format!("\"{}\"", sanitize(v, Sgr::Strip)));
        plan.preview.push(line("env", format!("{name}: {before} → {after}"), Severity::Info));
        if now.iter().any(|v| matches!(v, EnvValue::FromSecret { .. })) {
            plan.guards.push(Guard::warn(
                "env-replaces-secret",
                format!("{name} comes from a Secret now: this replaces the reference with a literal in the manifest"),
                Some("change the Secret instead".into()),
            ));
        }
    }
    plan.preview.push(line(
        "pods",
        format!("all {} pods are replaced by a rolling update", service.replicas.desired),
        Severity::Info,
    ));
    plan.guards.extend(template_guards(service));
    plan
}

/// A patch of the workload, as `kubectl patch --type strategic|merge` sends it.
pub fn plan_patch(service: &Service, strategy: PatchStrategy, body: &Value) -> ActionPlan {
    let key = &service.key;
    let compact = body.to_string();
    let kubectl = format!(
        "kubectl patch {}/{} -n {} --type {} -p {}",
        kubectl_kind(key),
        key.name,
        key.namespace,
        strategy.as_str(),
        shell_quote(&compact)
    );
    let mut plan = plan(service, Change::Patch { strategy, body: body.clone() }, kubectl);
    if !body.is_object() {
        plan.guards.push(block("invalid-patch", "a patch must be an object".into()));
        return plan;
    }
    plan.preview.push(line("patch", sanitize(&compact, Sgr::Strip).into_owned(), Severity::Info));
    if body.get("spec").and_then(|s| s.get("template")).is_some() {
        plan.preview.push(line(
            "pods",
            "the pod template changes: pods are replaced by a rolling update".into(),
            Severity::Info,
        ));
        plan.guards.extend(template_guards(service));
    } else if let Some(owner) = &service.gitops {
        plan.guards.push(Guard::warn("gitops-managed", format!("{} is {}", key.name, owner.revert_warning()), None));
    } else if let Some(tool) = &service.flags.gitops {
        plan.guards.push(Guard::warn(
            "gitops-managed",
            format!("{} is managed by {tool}: the next reconcile reverts this change", key.name),
            None,
        ));
    }
    plan
}

/// New bounds for the autoscaler that owns the service's replicas (what the scale guard
/// offers instead of scaling an autoscaled workload).
pub fn plan_hpa_bounds(service: &Service, min: i32, max: i32, budget: Option<&DatabaseBudget>) -> ActionPlan {
    let key = &service.key;
    let Some(hpa) = &service.hpa else {
        let change = Change::HpaBounds { hpa: String::new(), from: (0, 0), to: (min, max) };
        let mut plan = plan(service, change, String::new());
        plan.guards.push(block("no-autoscaler", format!("no autoscaler targets {}", key.name)));
        return plan;
    };
    let kubectl = format!(
        "kubectl patch hpa {} -n {} -p '{{\"spec\":{{\"minReplicas\":{min},\"maxReplicas\":{max}}}}}'",
        hpa.name, key.namespace
    );
    let change = Change::HpaBounds { hpa: hpa.name.clone(), from: (hpa.min, hpa.max), to: (min, max) };
    let mut plan = plan(service, change, kubectl);
    plan.resource_version = hpa.resource_version.clone();
    if min < 1 || max < min {
        plan.guards.push(block("invalid-bounds", format!("{min}..{max}: expected 1 ≤ min ≤ max")));
        return plan;
    }
    plan.preview.push(line(
        "autoscaler",
        format!("{}: {}..{} → {min}..{max}", hpa.name, hpa.min, hpa.max),
        Severity::Info,
    ));
    let now = service.replicas.desired;
    let clamped = now.clamp(min, max);
    if clamped != now {
        plan.preview.push(line(
            "replicas",
            format!("{now} → {clamped} as soon as the autoscaler syncs"),
            Severity::Warning,
        ));
    }
    if let Some(pdb) = &service.pdb {
        let after = crate::model::pdb::headroom_if_scaled(pdb, min);
        let severity = if after.disruptions_allowed == 0 { Severity::Warning } else { Severity::Info };
        plan.preview.push(line(
            "disruption budget",
            format!(
                "{} at the minimum of {min}: {} allowed ({})",
                pdb.name, after.disruptions_allowed, after.explanation
            ),
            severity,
        ));
    }
    if let Some(budget) = budget.filter(|b| b.uses(key).is_some()) {
        let after = budget.if_hpa_max(key, u32::try_from(max).unwrap_or(0));
        let severity = match after.state_at_hpa_max() {
            BudgetState::Unknown => Severity::Warning,
            BudgetState::Ok => Severity::Info,
            BudgetState::Warn => Severity::Warning,
            BudgetState::Over => Severity::Error,
        };
        plan.preview.push(line(
            "connection budget",
            format!(
                "{} at HPA max: {} → {} of {} usable ({} → {})",
                budget.name,
                budget.required_at_hpa_max(),
                after.required_at_hpa_max(),
                budget.usable(),
                format_percent(budget.percent_at_hpa_max()),
                format_percent(after.percent_at_hpa_max())
            ),
            severity,
        ));
        if max > hpa.max && after.state_at_hpa_max() == BudgetState::Over {
            plan.guards.push(Guard::warn(
                "db-budget-exceeded",
                format!(
                    "at {max} replicas {} would need {} connections of {} usable",
                    budget.name,
                    after.required_at_hpa_max(),
                    budget.usable()
                ),
                after.advice(BudgetState::Over),
            ));
        }
    }
    plan
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// Quotes for a POSIX shell when needed, so the copied kubectl command runs as shown.
fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c)) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::service::{ContainerImage, EnvVar, HpaSummary};

    fn service() -> Service {
        let mut s = Service::example("shop", "api", 3);
        s.containers = vec![ContainerImage { container: "api".into(), image: "acme/api:1.4.2".into() }];
        s.env = vec![
            EnvVar { container: "api".into(), name: "ROLE".into(), value: EnvValue::Literal("all".into()) },
            EnvVar {
                container: "api".into(),
                name: "DB_PASSWORD".into(),
                value: EnvValue::FromSecret { secret: "db".into(), key: "password".into() },
            },
        ];
        s
    }

    fn ids(plan: &ActionPlan) -> Vec<&str> {
        plan.guards.iter().map(|g| g.id).collect()
    }

    #[test]
    fn set_image_previews_the_change_and_warns_on_sliding_tags() {
        let s = service();
        let plan = plan_set_image(&s, None, "acme/api:1.5.0");
        assert!(plan.stopped_by().is_none());
        assert_eq!(plan.preview[0].text, "api: acme/api:1.4.2 → acme/api:1.5.0");
        assert_eq!(plan.kubectl, "kubectl set image deployment/api -n shop api=acme/api:1.5.0");
        assert!(ids(&plan).is_empty());
        assert_eq!(plan.already_applied(&s), Some(false));
        for sliding in ["acme/api:latest", "acme/api", "acme/api:1.5", "acme/api:stable"] {
            let plan = plan_set_image(&s, Some("api"), sliding);
            assert_eq!(ids(&plan), ["image-sliding-tag"], "{sliding}");
            assert!(plan.stopped_by().is_none(), "a warning: the operator decides");
        }
        assert_eq!(plan_set_image(&s, Some("api"), "acme/api:1.4.2").already_applied(&s), Some(true));
        assert_eq!(plan_set_image(&s, Some("web"), "x:1.0.0").stopped_by().map(|g| g.id), Some("no-such-container"));
        assert_eq!(plan_set_image(&s, Some("api"), "a b").stopped_by().map(|g| g.id), Some("invalid-image"));
    }

    #[test]
    fn set_image_wants_a_container_name_when_there_are_several() {
        let mut s = service();
        s.containers.push(ContainerImage { container: "proxy".into(), image: "envoy:1.30.1".into() });
        let plan = plan_set_image(&s, None, "acme/api:1.5.0");
        let guard = plan.stopped_by().unwrap();
        assert_eq!((guard.id, guard.message.as_str()), ("container-needed", "name the container: api, proxy"));
    }

    #[test]
    fn set_env_shows_before_and_after_but_never_a_secret() {
        let s = service();
        let vars =
            vec![("ROLE".to_string(), Some("api".to_string())), ("DB_PASSWORD".to_string(), Some("x".to_string()))];
        let plan = plan_set_env(&s, None, &vars);
        let texts: Vec<&str> = plan.preview.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts[0], "ROLE: \"all\" → \"api\"");
        assert_eq!(texts[1], "DB_PASSWORD: from Secret db (password), not shown → \"x\"");
        assert_eq!(ids(&plan), ["env-replaces-secret"]);
        assert_eq!(plan.kubectl, "kubectl set env deployment/api -n shop ROLE=api DB_PASSWORD=x");
        assert_eq!(plan.already_applied(&s), Some(false));
        let same = plan_set_env(&s, Some("api"), &[("ROLE".into(), Some("all".into()))]);
        assert_eq!(same.already_applied(&s), Some(true));
        let unset = plan_set_env(&s, None, &[("GONE".into(), None)]);
        assert_eq!(unset.already_applied(&s), Some(true), "an absent variable is already removed");
        assert_eq!(plan_set_env(&s, None, &[("1X".into(), None)]).stopped_by().map(|g| g.id), Some("invalid-env-name"));
        let quoted = plan_set_env(&s, None, &[("MSG".into(), Some("it's on".into()))]);
        assert!(quoted.kubectl.ends_with(r"MSG='it'\''s on'"), "{}", quoted.kubectl);
    }

    #[test]
    fn hpa_bounds_preview_replicas_pdb_and_budget_at_the_new_maximum() {
        let mut s = service();
        s.hpa = Some(HpaSummary {
            name: "api".into(),
            min: 2,
            max: 4,
            current: 3,
            desired: 3,
            targets: vec![],
            resource_version: Some("7".into()),
        });
        s.database.uses = Some("pg".into());
        let budget = crate::model::budget::example_budget(&s, 10);
        let plan = plan_hpa_bounds(&s, 4, 8, Some(&budget));
        assert!(plan.stopped_by().is_none());
        let text = |label| plan.preview.iter().find(|l| l.label == label).map(|l| l.text.clone());
        assert_eq!(text("autoscaler").as_deref(), Some("api: 2..4 → 4..8"));
        assert_eq!(text("replicas").as_deref(), Some("3 → 4 as soon as the autoscaler syncs"));
        assert_eq!(text("connection budget").as_deref(), Some("pg at HPA max: 70 → 130 of 97 usable (72 % → 134 %)"));
        assert_eq!(ids(&plan), ["db-budget-exceeded"]);
        assert_eq!(plan.already_applied(&s), Some(false));
        assert_eq!(plan_hpa_bounds(&s, 2, 4, None).already_applied(&s), Some(true));
        assert_eq!(plan_hpa_bounds(&s, 5, 3, None).stopped_by().map(|g| g.id), Some("invalid-bounds"));
        assert_eq!(plan_hpa_bounds(&service(), 1, 3, None).stopped_by().map(|g| g.id), Some("no-autoscaler"));
    }

    #[test]
    fn a_patch_of_the_template_warns_like_any_template_change() {
        let mut s = service();
        s.flags.gitops = Some("Flux".into());
        let body =
            serde_json::json!({"spec": {"template": {"spec": {"volumes": [{"name": "cache", "emptyDir": {}}]}}}});
        let plan = plan_patch(&s, PatchStrategy::Strategic, &body);
        assert_eq!(ids(&plan), ["gitops-managed"]);
        assert!(plan.kubectl.contains("--type strategic -p '{\"spec\""), "{}", plan.kubectl);
        assert_eq!(plan.already_applied(&s), None, "only the API server can tell");
        assert_eq!(
            plan_patch(&s, PatchStrategy::Merge, &serde_json::json!([1])).stopped_by().map(|g| g.id),
            Some("invalid-patch")
        );
    }
}
