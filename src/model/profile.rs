//! The cockpit profile as the model reads it: which services are singletons, whether the
//! context is production, and which services use which databases. The TOML file is parsed
//! by `config::profile`; this is plain data.

use std::collections::BTreeMap;

use super::budget::{self, BudgetRules, DatabaseBudget};
use super::lint::{self, LintRule};
use super::service::Service;
use super::slo::SloRule;

#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// Changes in this context ask for the service name to be typed.
    pub production: bool,
    pub budget: BudgetRules,
    pub singletons: Vec<SingletonDecl>,
    /// Preflight checks switched off or given another severity.
    pub lint: Vec<LintRule>,
    /// Log rules for the SLO panes and the rollout gate.
    pub slo: Vec<SloRule>,
}

/// A service that must never run twice, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingletonDecl {
    pub services: ServiceMatch,
    pub reason: String,
}

/// Which services a binding covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceMatch {
    /// `namespace/name`, or `name` in any namespace.
    Named { namespace: Option<String>, name: String },
    /// Equality-based label selector on the pod template (`k=v,k2!=v2,k3`).
    Selector { namespace: Option<String>, requirements: Vec<LabelRequirement> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
}

/// Whether a profile binding covers `service`.
pub fn covers(matcher: &ServiceMatch, service: &Service) -> bool {
    let in_namespace = |ns: &Option<String>| ns.as_ref().is_none_or(|ns| *ns == service.key.namespace);
    match matcher {
        ServiceMatch::Named { namespace, name } => in_namespace(namespace) && *name == service.key.name,
        ServiceMatch::Selector { namespace, requirements } => {
            in_namespace(namespace) && requirements.iter().all(|r| r.holds(&service.database.labels))
        }
    }
}

impl LabelRequirement {
    fn holds(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            LabelRequirement::Equals(k, v) => labels.get(k) == Some(v),
            LabelRequirement::NotEquals(k, v) => labels.get(k) != Some(v),
            LabelRequirement::Exists(k) => labels.contains_key(k),
        }
    }
}

/// Parses an equality-based selector (`app=api,tier!=cache,canary`).
pub fn parse_selector(text: &str) -> Result<Vec<LabelRequirement>, String> {
    let mut requirements = Vec::new();
    for term in text.split(',').map(str::trim) {
        let requirement = if let Some((k, v)) = term.split_once("!=") {
            LabelRequirement::NotEquals(label_key(k)?, v.trim().to_string())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            LabelRequirement::Equals(label_key(k)?, v.trim().to_string())
        } else {
            LabelRequirement::Exists(label_key(term)?)
        };
        requirements.push(requirement);
    }
    Ok(requirements)
}

fn label_key(key: &str) -> Result<String, String> {
    let key = key.trim();
    let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if valid {
        Ok(key.to_string())
    } else {
        Err(format!("{key:?} is not a label key (expected key=value, key!=value or key)"))
    }
}

/// Marks the profile's singletons (the annotation, read by the services model, wins when
/// both say so: it travels with the manifest).
pub fn apply_singletons(services: &mut [Service], singletons: &[SingletonDecl]) {
    for service in services.iter_mut().filter(|s| s.flags.singleton.is_none()) {
        if let Some(decl) = singletons.iter().find(|d| covers(&d.services, service)) {
            service.flags.singleton = Some(format!("{} (profile)", decl.reason));
        }
    }
}

/// Applies the profile to freshly built services: singletons, then the connection budget
/// of every database (which needs all services at once). Returns the budgets of the
/// databases that matter in `namespace` (all of them for all namespaces): used by a
/// service in scope, or declared there.
pub fn apply(services: &mut [Service], profile: &Profile, namespace: Option<&str>) -> Vec<DatabaseBudget> {
    apply_singletons(services, &profile.singletons);
    let mut budgets = budget::databases(&profile.budget, services);
    budget::attach(services, &budgets);
    lint::profile_checks(services, &budgets);
    lint::apply_rules(services, &profile.lint);
    if let Some(ns) = namespace {
        let declared_here = |b: &DatabaseBudget| {
            profile.budget.databases.iter().any(|d| d.name == b.name && d.namespace.as_deref() == Some(ns))
        };
        budgets.retain(|b| !b.services.is_empty() || declared_here(b));
    }
    budgets
}
