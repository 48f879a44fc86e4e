//! The cockpit profile as the model reads it: which services are singletons, whether the
//! context is production, and which services use which databases. The TOML file is parsed
//! by `config::profile`; this is plain data.

use super::budget::{self, BudgetRules, DatabaseBudget};
use super::discovery::Discovered;
use super::lint::{self, LintRule};
use super::service::{Service, worst_first};
use super::service_match::{ServiceMatch, covers};
use super::slo::SloRule;

#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// Changes in this context ask for the service name to be typed.
    pub production: bool,
    /// The contexts this profile opens together (`fleet = ["eu", "us"]`), when it is given
    /// with `--profile` and no `--context`: several clusters in one cockpit.
    pub fleet: Vec<String>,
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
/// of every database (which needs all services at once, and what discovery `found`).
/// Returns the budgets of the databases that matter in `namespace` (all of them for all
/// namespaces): used by a service in scope, or declared there.
pub fn apply(
    services: &mut [Service],
    profile: &Profile,
    namespace: Option<&str>,
    found: &Discovered,
) -> Vec<DatabaseBudget> {
    apply_singletons(services, &profile.singletons);
    let budgets = budget::databases(&profile.budget, services, found);
    for service in services.iter_mut() {
        finish(service, &budgets, profile);
    }
    in_scope(budgets, profile, namespace)
}

/// The profile's part of one service that needs every service first: its database
/// budget, the checks that read it, and the profile's lint rules.
pub fn finish(service: &mut Service, budgets: &[DatabaseBudget], profile: &Profile) {
    let one = std::slice::from_mut(service);
    budget::attach(one, budgets);
    lint::profile_checks(one, budgets);
    lint::apply_rules(one, &profile.lint);
}

/// Whether [`finish`] would leave `service` exactly as built: no budget uses it, it is no
/// singleton, the profile has no lint rules, and its checks are in order already. Most
/// services of a large cluster are; their finished row is the built one, not a copy.
pub fn leaves_as_built(service: &Service, budgets: &[DatabaseBudget], profile: &Profile) -> bool {
    profile.lint.is_empty()
        && service.budget.is_none()
        && service.flags.singleton.is_none()
        && budget::budget_of(budgets, &service.key).is_none()
        && service.preflight.is_sorted_by_key(worst_first)
}

/// The budgets that matter in `namespace` (all of them for all namespaces): used by a
/// service in scope, or declared there.
pub fn in_scope(mut budgets: Vec<DatabaseBudget>, profile: &Profile, namespace: Option<&str>) -> Vec<DatabaseBudget> {
    if let Some(ns) = namespace {
        let declared_here = |b: &DatabaseBudget| {
            profile.budget.databases.iter().any(|d| d.name == b.name && d.namespace.as_deref() == Some(ns))
        };
        budgets.retain(|b| !b.services.is_empty() || declared_here(b));
    }
    budgets
}
