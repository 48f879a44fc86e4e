//! The connection budget: every replica opens its own database pool, so scaling out can
//! exhaust a database long before CPU runs out. The seeds' rule:
//! `required = replicas x (pool_size + max_overflow) + headroom`, judged against the
//! connections the server actually lets applications use (`max_connections` minus the
//! reserved ones), with a transaction-mode pooler advised past about 70 %.
//!
//! Inputs are the profile's declarations ([`BudgetRules`]) and what the pod templates say
//! ([`DatabaseHints`], env vars); every number carries its [`Source`] so the screen can say
//! where it came from.

use std::borrow::Borrow;
use std::collections::BTreeMap;

// Seeded per process like std's, cheaper on the keys hashed here (every service, with each view).
use foldhash::HashMap;

use k8s_openapi::api::core::v1::PodSpec;

pub use super::count::parse_count;
use super::discovery::engines::{self, Engine};
use super::discovery::{self, Discovered, PoolerSettings, Setting, Target};
use super::sanitize::clean;

use super::service_match::{ServiceMatch, covers};
// What the service row carries about databases is declared with the row; the budget's
// vocabulary stays reachable here.
pub use super::service::{BudgetState, DatabaseHints, ServiceBudget, Source, Sourced};
use super::service::{EnvValue, EnvVar, Service, ServiceKey};

pub const DB_ANNOTATION: &str = "cockpit.dev/db";
pub const DB_POOL_ANNOTATION: &str = "cockpit.dev/db-pool";
pub const MAX_CONNECTIONS_ANNOTATION: &str = "cockpit.dev/max-connections";

/// PostgreSQL's own defaults, used when nothing says otherwise.
const DEFAULT_RESERVED: u32 = 3;
/// The seeds' "~15" spare connections for migrations, consoles and cron jobs.
const DEFAULT_HEADROOM: u32 = 15;
/// Past this share of usable connections the seeds advise a transaction-mode pooler.
pub const DEFAULT_WARN_PERCENT: u32 = 70;
/// SQLAlchemy's QueuePool defaults (pool_size 5, max_overflow 10): the most common
/// client in the seeds, and a pessimistic guess for others.
const DEFAULT_POOL: u32 = 5;
const DEFAULT_OVERFLOW: u32 = 10;

fn sourced<T>(value: T, source: Source) -> Sourced<T> {
    Sourced { value, source }
}

/// Reads the annotations, images and server settings that say which database a workload
/// uses or which one it is. Annotations on the pod template win over the workload's; a
/// server's own settings (args, then its image's env) over PostgreSQL's default.
pub fn database_hints(
    workload_annotations: &BTreeMap<String, String>,
    template_annotations: &BTreeMap<String, String>,
    template_labels: &BTreeMap<String, String>,
    pod_spec: Option<&PodSpec>,
) -> DatabaseHints {
    let annotation =
        |name: &str| template_annotations.get(name).or_else(|| workload_annotations.get(name)).map(|v| clean(v.trim()));
    let from_annotation = annotation(MAX_CONNECTIONS_ANNOTATION)
        .and_then(|v| parse_count(&v))
        .map(|n| sourced(n, Source::Annotation(MAX_CONNECTIONS_ANNOTATION)));
    let containers = pod_spec.into_iter().flat_map(|spec| &spec.containers);
    let from_args = containers
        .clone()
        .find_map(|c| max_connections_from_args(c.command.iter().chain(&c.args).flatten().map(String::as_str)))
        .map(|n| sourced(n, Source::Args));
    let engine_of = |c: &&k8s_openapi::api::core::v1::Container| c.image.as_deref().and_then(engines::engine_of);
    let server = containers.clone().find(|c| engine_of(c) == Some(Engine::Postgres));
    let from_image = server.map(|c| {
        let literal = |name: &str| {
            c.env.iter().flatten().find(|v| v.name == name && v.value_from.is_none()).and_then(|v| v.value.as_deref())
        };
        MAX_CONNECTIONS_ENV
            .iter()
            .find_map(|name| literal(name).and_then(parse_count).map(|n| sourced(n, Source::Env((*name).into()))))
            .unwrap_or(sourced(engines::POSTGRES_DEFAULT_MAX_CONNECTIONS, Source::EngineDefault("PostgreSQL")))
    });
    let pooler = containers.clone().any(|c| engine_of(&c) == Some(Engine::PgBouncer));
    let config_volumes = pod_spec
        .filter(|_| pooler)
        .map(|spec| discovery::config_map_volumes(spec).iter().map(|name| clean(name)).collect())
        .unwrap_or_default();
    DatabaseHints {
        uses: annotation(DB_ANNOTATION).filter(|v| !v.is_empty()),
        pool_annotation: annotation(DB_POOL_ANNOTATION),
        serves: from_annotation.or(from_args).or(from_image),
        labels: template_labels.clone(),
        config_volumes,
    }
}

/// The env PostgreSQL images read `max_connections` from (Bitnami's, and the names
/// teams give it in their own images).
const MAX_CONNECTIONS_ENV: &[&str] = &["POSTGRESQL_MAX_CONNECTIONS", "POSTGRES_MAX_CONNECTIONS", "PG_MAX_CONNECTIONS"];

/// A database as the profile declares it; anything left out is detected or defaulted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseDecl {
    pub name: String,
    /// Where the server runs, when it runs in the cluster (to find its workload).
    pub namespace: Option<String>,
    pub max_connections: Option<u32>,
    pub reserved: Option<u32>,
    pub headroom: Option<u32>,
    pub warn_percent: Option<u32>,
    /// A transaction-mode pooler (PgBouncer) sits in front.
    pub pooler: Option<bool>,
    /// Environment variable holding a connection string for live measurement.
    pub url_env: Option<String>,
}

/// A profile binding: these services use that database with these pools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingDecl {
    pub database: String,
    pub services: ServiceMatch,
    pub pool: Option<u32>,
    pub overflow: Option<u32>,
    /// Connections per pod beyond the main pool (worker processes x their pool).
    pub extra_per_pod: Option<u32>,
    /// Live access for the binding's database, when the database entry names none.
    pub url_env: Option<String>,
    /// Measured connections whose `application_name` matches this pattern (`*` matches any
    /// run of characters) are the bound service's, whatever their names or addresses.
    pub application_name: Option<String>,
}

/// The profile's budget sections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BudgetRules {
    pub databases: Vec<DatabaseDecl>,
    pub bindings: Vec<BindingDecl>,
}

/// One service's share of a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceUse {
    pub key: ServiceKey,
    pub replicas: u32,
    /// The HPA's maxReplicas, when an HPA drives the service.
    pub hpa_max: Option<u32>,
    pub pool: Sourced<u32>,
    pub overflow: Sourced<u32>,
    pub extra: Sourced<u32>,
    /// The binding's `application_name` pattern, if it gives one.
    pub application_name: Option<String>,
    /// How the service was found to use this database (`DATABASE_URL from Secret app-db`).
    pub via: String,
    /// For a pooler's line on its server: the services whose clients it carries.
    pub pooler_for: Vec<ServiceKey>,
}

impl ServiceUse {
    /// Pools and replica counts are whatever a profile, annotation or env var says: the
    /// arithmetic is done in u64 and saturates, so a pool of 2^31 is over budget rather
    /// than wrapping round to a harmless-looking small number.
    pub fn per_replica(&self) -> u64 {
        u64::from(self.pool.value)
            .saturating_add(u64::from(self.overflow.value))
            .saturating_add(u64::from(self.extra.value))
    }

    pub fn connections(&self) -> u64 {
        u64::from(self.replicas).saturating_mul(self.per_replica())
    }

    /// The worst case: every replica the HPA may add opens its full pool.
    pub fn connections_at_hpa_max(&self) -> u64 {
        u64::from(self.hpa_max.unwrap_or(0).max(self.replicas)).saturating_mul(self.per_replica())
    }

    /// `shop/api  4 × 15 = 60 · HPA max 5 → 75`: this service's share now and at worst.
    pub fn share(&self) -> String {
        let hpa = self
            .hpa_max
            .map_or_else(String::new, |max| format!(" · HPA max {max} → {}", self.connections_at_hpa_max()));
        format!(
            "{}/{}  {} × {} = {}{hpa}",
            self.key.namespace,
            self.key.name,
            self.replicas,
            self.per_replica(),
            self.connections()
        )
    }

    /// `pool 10 (env DB_POOL_SIZE) + overflow 5 (profile) + extra 2 (profile)`.
    pub fn pools(&self) -> String {
        let extra = if self.extra.value > 0 {
            format!(" + extra {} ({})", self.extra.value, self.extra.source)
        } else {
            String::new()
        };
        format!(
            "pool {} ({}) + overflow {} ({}){extra}",
            self.pool.value, self.pool.source, self.overflow.value, self.overflow.source
        )
    }

    /// Where the per-replica number came from, in one word or two.
    pub fn source(&self) -> String {
        let mut sources: Vec<String> = Vec::new();
        for s in [&self.pool.source, &self.overflow.source] {
            let label = match s {
                Source::Env(_) => "env".to_string(),
                other => other.to_string(),
            };
            if !sources.contains(&label) {
                sources.push(label);
            }
        }
        sources.join("+")
    }
}

/// A database `pg` of 100 connections (3 reserved, `headroom` kept free) that `service`
/// uses with a pool of 10 + 5 overflow: the budget the previews' tests reason about.
#[cfg(test)]
pub fn example_budget(service: &Service, headroom: u32) -> DatabaseBudget {
    let mut service = service.clone();
    service.database.uses = Some("pg".into());
    let rules = BudgetRules {
        databases: vec![DatabaseDecl {
            name: "pg".into(),
            max_connections: Some(100),
            reserved: Some(3),
            headroom: Some(headroom),
            ..Default::default()
        }],
        bindings: vec![BindingDecl {
            database: "pg".into(),
            services: ServiceMatch::Named { namespace: None, name: service.key.name.clone() },
            pool: Some(10),
            overflow: Some(5),
            extra_per_pod: None,
            url_env: None,
            application_name: None,
        }],
    };
    databases(&rules, std::slice::from_ref(&service), &Discovered::default()).remove(0)
}

/// What a PostgreSQL server reported, attributed to services where possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measured {
    /// Nobody asked (no connection string configured).
    NotConfigured,
    Unavailable(String),
    Connections {
        max_connections: u32,
        reserved: u32,
        connections: u32,
        by_service: BTreeMap<String, u32>,
        /// The client groups no service of this database accounts for (`other`), so the
        /// operator can see whose they are and bind them in the profile.
        unmatched: Vec<ClientConnections>,
    },
}

/// The limits the profile, annotations or defaults gave before the server was measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredLimits {
    pub max_connections: Sourced<u32>,
    pub reserved: Sourced<u32>,
}

/// One database's budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseBudget {
    pub name: String,
    pub max_connections: Sourced<u32>,
    pub reserved: Sourced<u32>,
    pub headroom: Sourced<u32>,
    pub warn_percent: u32,
    pub pooler: bool,
    /// The profile said whether a pooler is in front (detection does not overrule it).
    pub pooler_declared: bool,
    pub url_env: Option<String>,
    pub services: Vec<ServiceUse>,
    pub measured: Measured,
    /// Set once a measurement replaced the limits: what they were before.
    pub declared: Option<DeclaredLimits>,
    /// A server, or a pooler whose clients count against its client limit.
    pub kind: DatabaseKind,
    /// Where the cockpit found it (`StatefulSet data/pg`, `from secret ledger-db/url`).
    pub origin: Option<String>,
    /// The server's or pooler's workload, when it runs as one in the cluster.
    pub workload: Option<ServiceKey>,
    /// What discovery could not resolve for it (`no Service pg in namespace data`).
    pub notes: Vec<String>,
}

/// What a budget is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DatabaseKind {
    #[default]
    Server,
    /// A PgBouncer: its limit is its pods' client connections; `server` is the database
    /// it forwards to, where it counts with its server-side pool.
    Pooler {
        server: Option<String>,
        /// Its pods, each with its own client limit.
        pods: u32,
        /// max_client_conn per pod, where it came from.
        per_pod: Option<Sourced<u32>>,
    },
}

impl DatabaseBudget {
    /// The budget with a measurement: the server's own `max_connections` and reserved
    /// slots replace the declared ones (marked `measured`), since the server refuses
    /// connections by its settings, not by the profile's.
    pub fn with_measured(mut self, measured: Measured) -> DatabaseBudget {
        if let Measured::Connections { max_connections, reserved, .. } = &measured {
            let was = DeclaredLimits { max_connections: self.max_connections.clone(), reserved: self.reserved.clone() };
            self.declared.get_or_insert(was);
            self.max_connections = sourced(*max_connections, Source::Measured);
            self.reserved = sourced(*reserved, Source::Measured);
        }
        self.measured = measured;
        self
    }

    /// What the measurement says is wrong with what was declared: limits the server does
    /// not have, and services holding more connections than their pools allow.
    pub fn measured_findings(&self) -> Vec<String> {
        let mut findings = Vec::new();
        let Measured::Connections { by_service, .. } = &self.measured else { return findings };
        if let Some(declared) = &self.declared {
            for (what, was, now) in [
                ("max_connections", &declared.max_connections, &self.max_connections),
                ("reserved", &declared.reserved, &self.reserved),
            ] {
                if was.value == now.value {
                    continue;
                }
                findings.push(match was.source {
                    Source::Default => format!(
                        "{what} was assumed {} (PostgreSQL's default); the server says {}: declare it in the profile",
                        was.value, now.value
                    ),
                    ref source => {
                        format!(
                            "{source} says {what} {}, the server says {}: update the {source}",
                            was.value, now.value
                        )
                    }
                });
            }
        }
        for u in &self.services {
            let held = u64::from(by_service.get(&u.key.name).copied().unwrap_or(0));
            let allowed = u.connections();
            if held > allowed {
                findings.push(format!(
                    "{}/{} holds {held} connections, more than its {} × {} = {allowed}: a pool setting that is not what the manifest says, or a leak",
                    u.key.namespace,
                    u.key.name,
                    u.replicas,
                    u.per_replica()
                ));
            }
        }
        findings
    }

    /// Connections applications may open: max_connections minus superuser/replication slots.
    pub fn usable(&self) -> u32 {
        self.max_connections.value.saturating_sub(self.reserved.value)
    }

    pub fn required(&self) -> u64 {
        self.services.iter().map(ServiceUse::connections).fold(u64::from(self.headroom.value), u64::saturating_add)
    }

    pub fn required_at_hpa_max(&self) -> u64 {
        self.services
            .iter()
            .map(ServiceUse::connections_at_hpa_max)
            .fold(u64::from(self.headroom.value), u64::saturating_add)
    }

    /// Whether anything says what the server's limit is. When not, the demand is still
    /// shown, but no percentage or state is made up from a guess.
    pub fn limit_known(&self) -> bool {
        self.max_connections.source != Source::Unknown
    }

    /// The share of usable connections required; NaN (shown as `?`) when the limit is unknown.
    pub fn percent(&self) -> f64 {
        if !self.limit_known() {
            return f64::NAN;
        }
        percent_of(self.required(), self.usable())
    }

    pub fn percent_at_hpa_max(&self) -> f64 {
        if !self.limit_known() {
            return f64::NAN;
        }
        percent_of(self.required_at_hpa_max(), self.usable())
    }

    /// `90 now · 240 at HPA max · limit unknown`: the demand, whatever is known of the limit.
    pub fn demand(&self) -> String {
        let limit = if self.limit_known() { format!("{} usable", self.usable()) } else { "limit unknown".to_string() };
        format!("{} now · {} at HPA max · {limit}", self.required(), self.required_at_hpa_max())
    }

    pub fn state(&self) -> BudgetState {
        self.judge(self.percent())
    }

    pub fn state_at_hpa_max(&self) -> BudgetState {
        self.judge(self.percent_at_hpa_max())
    }

    fn judge(&self, percent: f64) -> BudgetState {
        if percent.is_nan() {
            BudgetState::Unknown
        } else if percent >= 100.0 {
            BudgetState::Over
        } else if percent >= f64::from(self.warn_percent) {
            BudgetState::Warn
        } else {
            BudgetState::Ok
        }
    }

    /// The budget as it would be with `replicas` replicas of `key` (a scale preview).
    pub fn if_scaled(&self, key: &ServiceKey, replicas: u32) -> DatabaseBudget {
        let mut after = self.clone();
        for used in after.services.iter_mut().filter(|u| &u.key == key) {
            used.replicas = replicas;
        }
        after
    }

    /// The budget as it would be if `key`'s autoscaler could grow it to `max` replicas.
    pub fn if_hpa_max(&self, key: &ServiceKey, max: u32) -> DatabaseBudget {
        let mut after = self.clone();
        for used in after.services.iter_mut().filter(|u| &u.key == key) {
            used.hpa_max = Some(max);
        }
        after
    }

    /// The arithmetic with the actual numbers:
    /// `statewave 4 x (10 + 5) + headroom 15 = 75 of 97 usable (100 max - 3 reserved) = 77 %`.
    pub fn formula(&self, at_hpa_max: bool) -> String {
        let terms: Vec<String> = self
            .services
            .iter()
            .map(|u| {
                let replicas = if at_hpa_max { u.hpa_max.unwrap_or(0).max(u.replicas) } else { u.replicas };
                let mut parts = format!("{} + {}", u.pool.value, u.overflow.value);
                if u.extra.value > 0 {
                    parts.push_str(&format!(" + {}", u.extra.value));
                }
                format!("{} {replicas} x ({parts})", u.key.name)
            })
            .collect();
        let (required, percent) = if at_hpa_max {
            (self.required_at_hpa_max(), self.percent_at_hpa_max())
        } else {
            (self.required(), self.percent())
        };
        let sum = if terms.is_empty() { "no services".to_string() } else { terms.join(" + ") };
        if !self.limit_known() {
            return format!("{sum} + headroom {} = {required} of an unknown limit", self.headroom.value);
        }
        if let DatabaseKind::Pooler { .. } = self.kind {
            return format!(
                "{sum} = {required} of {} client connections = {}",
                self.max_connections.value,
                format_percent(percent)
            );
        }
        format!(
            "{sum} + headroom {} = {required} of {} usable ({} max - {} reserved) = {}",
            self.headroom.value,
            self.usable(),
            self.max_connections.value,
            self.reserved.value,
            format_percent(percent)
        )
    }

    /// The limits and where each came from:
    /// `max_connections 100 (profile) · reserved 3 (default) · headroom 15 (profile) · warn at 70 %`.
    pub fn limits(&self) -> String {
        if let DatabaseKind::Pooler { pods, per_pod: Some(per_pod), .. } = &self.kind
            && self.max_connections.source != Source::Profile
        {
            return format!(
                "client limit {} = {pods} pods × max_client_conn {} ({}) · warn at {} %",
                self.max_connections.value, per_pod.value, per_pod.source, self.warn_percent
            );
        }
        if let DatabaseKind::Pooler { .. } = self.kind {
            return format!(
                "client limit {} ({}) · warn at {} %",
                self.max_connections.value, self.max_connections.source, self.warn_percent
            );
        }
        if !self.limit_known() {
            return format!(
                "max_connections unknown · reserved {} ({}) · headroom {} ({}) · warn at {} %",
                self.reserved.value, self.reserved.source, self.headroom.value, self.headroom.source, self.warn_percent
            );
        }
        format!(
            "max_connections {} ({}) · reserved {} ({}) · headroom {} ({}) · warn at {} %{}",
            self.max_connections.value,
            self.max_connections.source,
            self.reserved.value,
            self.reserved.source,
            self.headroom.value,
            self.headroom.source,
            self.warn_percent,
            if self.pooler { " · pooler in front" } else { "" }
        )
    }

    /// What to do about a warn or over state, in the seeds' words.
    pub fn advice(&self, state: BudgetState) -> Option<String> {
        if let DatabaseKind::Pooler { .. } = self.kind {
            return match state {
                BudgetState::Ok | BudgetState::Unknown => None,
                BudgetState::Warn | BudgetState::Over => Some(
                    "near or past the pooler's client limit: raise max_client_conn or run more pooler replicas".into(),
                ),
            };
        }
        match (state, self.pooler) {
            (BudgetState::Ok, _) => None,
            (BudgetState::Unknown, _) => Some(format!(
                "declare max_connections in the profile ([[databases]] name = \"{}\", max_connections = N), or set url_env to measure it",
                self.name
            )),
            (_, false) => Some(format!(
                "past {} % of usable connections: put a transaction-mode pooler (PgBouncer) in front instead of raising max_connections",
                self.warn_percent
            )),
            (BudgetState::Warn, true) => {
                Some("near the pooler's server-side limit: check its default_pool_size against max_connections".into())
            }
            (BudgetState::Over, true) => {
                Some("over max_connections behind a pooler: lower per-pod pools or the pooler's pool size".into())
            }
        }
    }

    pub fn uses(&self, key: &ServiceKey) -> Option<&ServiceUse> {
        self.services.iter().find(|u| &u.key == key)
    }
}

/// The budget of the database `key` uses, if any.
pub fn budget_of<'a>(budgets: &'a [DatabaseBudget], key: &ServiceKey) -> Option<&'a DatabaseBudget> {
    budgets.iter().find(|b| b.uses(key).is_some())
}

fn percent_of(required: u64, usable: u32) -> f64 {
    if usable == 0 {
        return if required == 0 { 0.0 } else { f64::INFINITY };
    }
    // u64 → f64 loses precision only past 2^53, far beyond any judgement made here.
    (required as f64 * 1000.0 / f64::from(usable)).round() / 10.0
}

/// Past this a percentage says only "far over": `> 9999 %` rather than thirteen digits.
const PERCENT_SHOWN_MAX: f64 = 9999.0;

/// `77 %`, `149 %`, `> 9999 %`, `∞ %` (a database that allows no application connections
/// at all), `?` (its limit is unknown).
pub fn format_percent(percent: f64) -> String {
    if percent.is_nan() {
        "?".into()
    } else if !percent.is_finite() {
        "∞ %".into()
    } else if percent > PERCENT_SHOWN_MAX {
        format!("> {PERCENT_SHOWN_MAX} %")
    } else {
        format!("{} %", percent.round())
    }
}

/// Whether the budgets read the same of `a` as of `b`: everything [`databases`] reads of
/// a service (its name, environment, database hints and pod template labels, desired
/// replicas and HPA ceiling). A service assembled again with the same inputs cannot move
/// any budget, so the sums over every service are kept. A read added to [`databases`]
/// belongs here too.
pub fn same_inputs(a: &Service, b: &Service) -> bool {
    a.key == b.key
        && a.env == b.env
        && a.database == b.database
        && a.replicas.desired == b.replicas.desired
        && a.hpa.as_ref().map(|h| h.max) == b.hpa.as_ref().map(|h| h.max)
}

/// The budget of every database some service uses or the profile declares: the profile's
/// bindings first, then `cockpit.dev/db`, then what discovery found in the services' env.
pub fn databases<S: Borrow<Service>>(rules: &BudgetRules, services: &[S], found: &Discovered) -> Vec<DatabaseBudget> {
    let rows: HashMap<&ServiceKey, &Service> = services.iter().map(|s| (&s.borrow().key, s.borrow())).collect();
    let mut budgets: Vec<DatabaseBudget> = rules.databases.iter().map(|d| declared(d, services, found)).collect();
    for service in services.iter().map(Borrow::borrow) {
        let Some(bound) = database_of(rules, service, found, &rows) else { continue };
        let index = match budgets.iter().position(|b| b.name == bound.database) {
            Some(i) => i,
            None => {
                let decl = DatabaseDecl {
                    name: bound.database.clone(),
                    namespace: Some(bound.namespace.clone()),
                    ..Default::default()
                };
                budgets.push(declared(&decl, services, found));
                budgets.len() - 1
            }
        };
        let budget = &mut budgets[index];
        if budget.origin.is_none() {
            budget.origin = bound.origin;
        }
        budget.notes.extend(bound.note.filter(|n| !budget.notes.contains(n)));
        budget.services.push(service_use(service, bound.binding, found.poolers.get(&service.key), bound.via));
        if budget.url_env.is_none() {
            budget.url_env = bound.binding.and_then(|b| b.url_env.clone());
        }
        // A PgBouncer the pods talk to is a pooler in front, unless the profile says otherwise.
        let pooled = service.env.iter().any(|v| v.name.to_ascii_uppercase().starts_with("PGBOUNCER"))
            || found.poolers.contains_key(&service.key);
        if !budget.pooler_declared && pooled {
            budget.pooler = true;
        }
    }
    link_poolers(&mut budgets, &rows, found);
    for budget in &mut budgets {
        budget.services.sort_by(|a, b| a.key.cmp(&b.key));
    }
    budgets
}

/// A pooler's budget counts client connections against its pods' client limit; its line
/// on the server's budget says whose clients it carries.
fn link_poolers(budgets: &mut [DatabaseBudget], rows: &HashMap<&ServiceKey, &Service>, found: &Discovered) {
    let poolers: Vec<(usize, ServiceKey)> =
        budgets.iter().enumerate().filter_map(|(i, b)| Some((i, pooler_key(b, found)?))).collect();
    for (i, pooler) in poolers {
        let server = budgets.iter().find(|b| b.uses(&pooler).is_some()).map(|b| b.name.clone());
        let carried: Vec<ServiceKey> = budgets[i].services.iter().map(|u| u.key.clone()).collect();
        let pods = rows.get(&pooler).map_or(0, |r| u32::try_from(r.replicas.desired).unwrap_or(0));
        let per_pod = found.poolers.get(&pooler).map(|p| p.max_client_conn.clone());
        let budget = &mut budgets[i];
        if let Some(per_pod) = &per_pod
            && budget.max_connections.source != Source::Profile
        {
            budget.max_connections = sourced(pods.saturating_mul(per_pod.value), per_pod.source.clone());
        }
        budget.kind = DatabaseKind::Pooler { server, pods, per_pod };
        for used in budgets.iter_mut().flat_map(|b| b.services.iter_mut()).filter(|u| u.key == pooler) {
            used.pooler_for = carried.clone();
        }
    }
}

/// The pooler workload a budget is about, if it is one.
fn pooler_key(budget: &DatabaseBudget, found: &Discovered) -> Option<ServiceKey> {
    budget.workload.clone().filter(|k| found.poolers.contains_key(k))
}

fn origin_of_workload(key: &ServiceKey) -> String {
    format!("{} {}/{}", key.kind.as_str(), key.namespace, key.name)
}

/// A database with what the profile says, completed from the server's workload (its
/// annotation, arguments, image env or PostgreSQL's default), an operator's cluster spec,
/// a pooler's settings, or else an unknown limit: a made-up 100 would judge a budget on
/// nothing.
fn declared<S: Borrow<Service>>(decl: &DatabaseDecl, services: &[S], found: &Discovered) -> DatabaseBudget {
    let in_namespace = |ns: &str| decl.namespace.as_ref().is_none_or(|want| want == ns);
    let server = services
        .iter()
        .map(Borrow::borrow)
        .find(|s: &&Service| s.key.name == decl.name && in_namespace(&s.key.namespace) && s.database.serves.is_some());
    let operator = found.operators.iter().find(|o| o.name == decl.name && in_namespace(&o.namespace));
    let pooler = found.poolers.keys().find(|k| k.name == decl.name && in_namespace(&k.namespace));
    let workload = server.map(|s| s.key.clone()).or_else(|| pooler.cloned());
    let (detected, origin) = if let Some(server) = server {
        (server.database.serves.clone(), Some(origin_of_workload(&server.key)))
    } else if let Some(cluster) = operator {
        let max = match &cluster.max_connections {
            Setting::Set(n) => Some(sourced(*n, Source::Operator(cluster.operator.label()))),
            Setting::NotSet => {
                Some(sourced(engines::POSTGRES_DEFAULT_MAX_CONNECTIONS, Source::EngineDefault("PostgreSQL")))
            }
            Setting::Unreadable(_) => None,
        };
        (max, Some(format!("{} {}/{}", cluster.operator.label(), cluster.namespace, cluster.name)))
    } else if let Some(key) = pooler {
        // The client limit is filled in once the pooler's replicas are known.
        (found.poolers.get(key).map(|p| p.max_client_conn.clone()), Some(origin_of_workload(key)))
    } else {
        (None, None)
    };
    let max_connections = match (decl.max_connections, detected) {
        (Some(n), _) => sourced(n, Source::Profile),
        (None, Some(detected)) => detected,
        (None, None) => sourced(0, Source::Unknown),
    };
    let pooler_side = pooler.is_some() && server.is_none() && operator.is_none();
    let no_slots = |declared: Option<u32>, default: u32| match declared {
        Some(n) => sourced(n, Source::Profile),
        None if pooler_side => sourced(0, Source::EngineDefault("PgBouncer")),
        None => sourced(default, Source::Default),
    };
    DatabaseBudget {
        name: decl.name.clone(),
        max_connections,
        reserved: no_slots(decl.reserved, DEFAULT_RESERVED),
        headroom: no_slots(decl.headroom, DEFAULT_HEADROOM),
        warn_percent: decl.warn_percent.unwrap_or(DEFAULT_WARN_PERCENT),
        pooler: decl.pooler.unwrap_or(false),
        pooler_declared: decl.pooler.is_some(),
        url_env: decl.url_env.clone(),
        services: Vec::new(),
        measured: Measured::NotConfigured,
        declared: None,
        kind: DatabaseKind::Server,
        origin,
        workload,
        notes: operator
            .filter(|_| server.is_none())
            .and_then(|c| match &c.max_connections {
                Setting::Unreadable(value) => Some(format!(
                    "{} {}/{} sets max_connections to {value}, not a count",
                    c.operator.label(),
                    c.namespace,
                    c.name
                )),
                _ => None,
            })
            .into_iter()
            .collect(),
    }
}

/// Which database a service uses, and how that was found.
struct Bound<'r> {
    database: String,
    namespace: String,
    binding: Option<&'r BindingDecl>,
    via: String,
    origin: Option<String>,
    note: Option<String>,
}

/// The database a service uses: the first profile binding that covers it, else its
/// `cockpit.dev/db` annotation, else the connection discovery found.
fn database_of<'r>(
    rules: &'r BudgetRules,
    service: &Service,
    found: &Discovered,
    rows: &HashMap<&ServiceKey, &Service>,
) -> Option<Bound<'r>> {
    let namespace = service.key.namespace.clone();
    if let Some(binding) = rules.bindings.iter().find(|b| covers(&b.services, service)) {
        let via = "profile binding".to_string();
        return Some(Bound {
            database: binding.database.clone(),
            namespace,
            binding: Some(binding),
            via,
            origin: None,
            note: None,
        });
    }
    if let Some(db) = service.database.uses.clone() {
        let via = format!("annotation {DB_ANNOTATION}");
        return Some(Bound { database: db, namespace, binding: None, via, origin: None, note: None });
    }
    let connection = found.connections.get(&service.key)?;
    let (database, namespace, origin) = match &connection.target {
        Target::Workload(key) => {
            let origin = rows.get(key).map_or_else(|| origin_of_workload(key), |r| origin_of_workload(&r.key));
            (key.name.clone(), key.namespace.clone(), origin)
        }
        Target::Operator { namespace, name } => {
            let label = found.operator(namespace, name).map_or("operator cluster", |o| o.operator.label());
            (name.clone(), namespace.clone(), format!("{label} {namespace}/{name}"))
        }
        Target::Secret { namespace, secret, key } => {
            let name = format!("{secret}/{key}");
            (name.clone(), namespace.clone(), format!("from secret {name}"))
        }
        Target::Host(host) => (host.clone(), namespace, format!("host {host}")),
    };
    Some(Bound {
        database,
        namespace,
        binding: None,
        via: connection.via.clone(),
        origin: Some(origin),
        note: connection.note.clone(),
    })
}

fn service_use(
    service: &Service,
    binding: Option<&BindingDecl>,
    pooler: Option<&PoolerSettings>,
    via: String,
) -> ServiceUse {
    let env = pool_env(&service.env);
    let annotation = service.database.pool_annotation.as_deref().and_then(parse_pool_annotation);
    // A pooler opens its server-side pool (and reserve) per pod, whatever its clients do.
    let (env_pool, env_overflow) = match pooler {
        Some(p) => (Some(p.pool.clone()), Some(p.reserve.clone())),
        None => (
            env.pool.map(|(n, var)| sourced(n, Source::Env(var))),
            env.overflow.map(|(n, var)| sourced(n, Source::Env(var))),
        ),
    };
    let pick = |profile: Option<u32>, annotated: Option<u32>, detected: Option<Sourced<u32>>, default: u32| {
        if let Some(n) = profile {
            sourced(n, Source::Profile)
        } else if let Some(n) = annotated {
            sourced(n, Source::Annotation(DB_POOL_ANNOTATION))
        } else if let Some(found) = detected {
            found
        } else {
            sourced(default, Source::Default)
        }
    };
    ServiceUse {
        key: service.key.clone(),
        replicas: u32::try_from(service.replicas.desired).unwrap_or(0),
        hpa_max: service.hpa.as_ref().and_then(|h| u32::try_from(h.max).ok()),
        pool: pick(binding.and_then(|b| b.pool), annotation.map(|a| a.0), env_pool, DEFAULT_POOL),
        overflow: pick(binding.and_then(|b| b.overflow), annotation.map(|a| a.1), env_overflow, DEFAULT_OVERFLOW),
        extra: match binding.and_then(|b| b.extra_per_pod) {
            Some(n) => sourced(n, Source::Profile),
            None => sourced(0, Source::Default),
        },
        application_name: binding.and_then(|b| b.application_name.clone()),
        via,
        pooler_for: Vec::new(),
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `"10+5"` → (10, 5); `"10"` → (10, 0).
pub fn parse_pool_annotation(text: &str) -> Option<(u32, u32)> {
    let (pool, overflow) = text.split_once('+').unwrap_or((text, "0"));
    Some((parse_count(pool)?, parse_count(overflow)?))
}

/// Pool settings found in literal env vars of the pod template.
#[derive(Debug, Default, PartialEq, Eq)]
struct PoolEnv {
    pool: Option<(u32, String)>,
    overflow: Option<(u32, String)>,
}

/// Reads the names frameworks use for pool sizes: `*_POOL_SIZE`, `DB_POOL`,
/// `DATABASE_POOL_MAX`, `*_MAX_OVERFLOW`, `*_POOL_OVERFLOW`. Values from ConfigMaps or
/// Secrets are not read (the cockpit never fetches Secrets).
fn pool_env(env: &[EnvVar]) -> PoolEnv {
    let mut found = PoolEnv::default();
    for var in env {
        let EnvValue::Literal(value) = &var.value else { continue };
        let Some(n) = parse_count(value) else { continue };
        let name = var.name.to_ascii_uppercase();
        let slot = if is_overflow_var(&name) {
            &mut found.overflow
        } else if is_pool_var(&name) {
            &mut found.pool
        } else {
            continue;
        };
        slot.get_or_insert((n, var.name.clone()));
    }
    found
}

fn is_overflow_var(name: &str) -> bool {
    name.ends_with("MAX_OVERFLOW") || name.ends_with("POOL_OVERFLOW")
}

fn is_pool_var(name: &str) -> bool {
    let pooled = name.contains("DB") || name.contains("DATABASE") || name.contains("PG") || name.contains("SQL");
    name.ends_with("POOL_SIZE")
        || name.ends_with("POOL_MAX")
        || name.ends_with("MAX_POOL_SIZE")
        || (pooled && (name.ends_with("_POOL") || name.ends_with("POOL_MAX_SIZE") || name.ends_with("MAX_CONNS")))
}

/// A server's `max_connections` from its container arguments (`-c max_connections=200`,
/// `--max_connections=200`).
pub fn max_connections_from_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Option<u32> {
    args.into_iter().find_map(|arg| {
        let (key, value) = arg.split_once('=')?;
        (key.trim_start_matches('-').replace('-', "_") == "max_connections").then(|| parse_count(value))?
    })
}

/// One group of client connections a server reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConnections {
    pub application_name: String,
    /// The role it logged in as.
    pub user: String,
    pub client_addr: Option<String>,
    pub count: u32,
}

/// What a database server reported, before it is attributed to services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReading {
    pub max_connections: u32,
    /// Superuser and `reserved_connections` slots together.
    pub reserved: u32,
    pub connections: u32,
    pub clients: Vec<ClientConnections>,
}

impl ServerReading {
    /// The reading as the budget shows it, attributed to the database's services.
    pub fn measured<S: Borrow<Service>>(&self, budget: &DatabaseBudget, services: &[S]) -> Measured {
        let mine: Vec<&Service> =
            services.iter().map(Borrow::borrow).filter(|s| budget.uses(&s.key).is_some()).collect();
        let unmatched = self.clients.iter().filter(|c| owner_of(c, budget, &mine).is_none()).cloned().collect();
        Measured::Connections {
            max_connections: self.max_connections,
            reserved: self.reserved,
            connections: self.connections,
            by_service: attribute(&self.clients, budget, services),
            unmatched,
        }
    }
}

/// Attributes measured connections to the database's services: by application_name
/// (the service name, or a pod name of it), else by the client address of one of its pods.
/// What matches no service is counted as `other`.
pub fn attribute<S: Borrow<Service>>(
    clients: &[ClientConnections],
    budget: &DatabaseBudget,
    services: &[S],
) -> BTreeMap<String, u32> {
    let mine: Vec<&Service> = services.iter().map(Borrow::borrow).filter(|s| budget.uses(&s.key).is_some()).collect();
    let mut by_service = BTreeMap::new();
    for client in clients {
        let name = owner_of(client, budget, &mine).map_or_else(|| "other".to_string(), |s| s.key.name.clone());
        let count: &mut u32 = by_service.entry(name).or_insert(0);
        *count = count.saturating_add(client.count);
    }
    by_service
}

/// The service a group of connections belongs to: by its binding's application_name
/// pattern, else by application_name (the service's name or one of its pods'), else by
/// the client address of one of its pods.
fn owner_of<'a>(client: &ClientConnections, budget: &DatabaseBudget, mine: &[&'a Service]) -> Option<&'a Service> {
    let app = client.application_name.as_str();
    let bound = mine.iter().copied().find(|s| {
        budget.uses(&s.key).and_then(|u| u.application_name.as_deref()).is_some_and(|p| matches_pattern(p, app))
    });
    bound.or_else(|| {
        mine.iter().copied().find(|s| {
            let by_name = !app.is_empty() && (app == s.key.name || s.pods.iter().any(|p| p.name == app));
            let by_addr =
                client.client_addr.as_deref().is_some_and(|a| s.pods.iter().any(|p| p.ip.as_deref() == Some(a)));
            by_name || by_addr
        })
    })
}

impl ServiceBudget {
    /// `77%`, or `90/?` (connections the database needs, of an unknown limit).
    pub fn short(&self) -> String {
        match self.percent {
            Some(percent) => format_percent(percent).replace(' ', ""),
            None => format!("{}/?", self.required),
        }
    }
}

/// Adds the service-level summary (`budget` in `status -o json`, the BUDGET column) to
/// every service that uses a database.
pub fn attach(services: &mut [Service], budgets: &[DatabaseBudget]) {
    for service in services {
        service.budget = budgets.iter().find_map(|b| {
            let used = b.uses(&service.key)?;
            Some(ServiceBudget {
                database: b.name.clone(),
                per_replica: used.per_replica(),
                current: used.connections(),
                at_hpa_max: used.connections_at_hpa_max(),
                max_connections: b.limit_known().then_some(b.max_connections.value),
                percent: b.limit_known().then(|| b.percent()),
                required: b.required(),
                state: b.state(),
            })
        });
    }
}

#[cfg(test)]
mod tests;
