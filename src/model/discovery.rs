//! Which database each service uses, found without a profile: from the env that names a
//! database host (literal, or from a ConfigMap the pod references), resolved through the
//! cluster's Services to the workload they select, a PgBouncer in between, or a
//! PostgreSQL cluster an operator runs. A Secret's value is never read: services that take
//! their URL from the same Secret key are one database, named after the key.
//!
//! Discovery depends only on specs (env, labels, Services, ConfigMaps, operators' specs),
//! never on pod status: the live model runs it again only when one of those changed.

pub mod address;
pub mod engines;

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::PodSpec;

use self::address::{NoHost, Shape};
use self::engines::Engine;
use super::service::{EnvValue, Service, ServiceKey, Source, Sourced};

/// A Kubernetes Service as discovery reads it: where its name points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetService {
    pub namespace: String,
    pub name: String,
    /// `None`: a Service without selector (its endpoints are managed by someone else).
    pub selector: Option<BTreeMap<String, String>>,
}

/// The operators whose PostgreSQL clusters the cockpit reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    /// `clusters.postgresql.cnpg.io`
    CloudNativePg,
    /// `postgresqls.acid.zalan.do`
    Zalando,
}

impl Operator {
    pub fn label(self) -> &'static str {
        match self {
            Operator::CloudNativePg => "CloudNativePG Cluster",
            Operator::Zalando => "Zalando postgresql",
        }
    }

    /// Whether the Service `service` is one the operator creates for cluster `cluster`:
    /// CloudNativePG's `<c>-rw`, `-ro`, `-r`; Zalando's `<c>` and `<c>-repl`.
    fn serves(self, cluster: &str, service: &str) -> bool {
        let suffix = service.strip_prefix(cluster);
        match self {
            Operator::CloudNativePg => matches!(suffix, Some("-rw" | "-ro" | "-r")),
            Operator::Zalando => matches!(suffix, Some("" | "-repl")),
        }
    }
}

/// A PostgreSQL cluster run by an operator (its pods belong to no Deployment or
/// StatefulSet), as its custom resource's spec says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorCluster {
    pub operator: Operator,
    pub namespace: String,
    pub name: String,
    pub instances: Option<u32>,
    /// `spec.postgresql.parameters.max_connections`.
    pub max_connections: Setting,
}

/// A number an object's spec may set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    /// Not set: the engine's default applies.
    NotSet,
    Set(u32),
    /// Set to something that is not a count (`"lots"`): unknown, never a default.
    Unreadable(String),
}

/// The cluster's objects discovery reads besides the workloads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Network {
    pub services: Vec<NetService>,
    /// The ConfigMaps pod templates reference, by namespace and name: their data.
    pub config_maps: BTreeMap<(String, String), BTreeMap<String, String>>,
    pub operators: Vec<OperatorCluster>,
    /// What could not be read and why ("CloudNativePG: no access"), for the budget screen.
    pub notes: Vec<String>,
}

/// Where a service's connections go.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A workload of the cluster: a PostgreSQL server, a pooler, or whatever the Service selects.
    Workload(ServiceKey),
    /// A cluster an operator runs (an index into [`Discovered::operators`] by namespace/name).
    Operator { namespace: String, name: String },
    /// The URL comes from a Secret: never read, so the database is known by the key.
    Secret { namespace: String, secret: String, key: String },
    /// A host outside the cluster, or one no Service answers for.
    Host(String),
}

/// One service's connection as discovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub target: Target,
    /// The env var it was found in (`DATABASE_URL`, `PGHOST via ConfigMap app-config`).
    pub via: String,
    /// Why the target is less than a workload ("no Service pg in data").
    pub note: Option<String>,
}

/// A PgBouncer's limits, each with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolerSettings {
    /// Server connections per pooler pod: default_pool_size, capped by max_db_connections.
    pub pool: Sourced<u32>,
    pub reserve: Sourced<u32>,
    /// Client connections each pooler pod accepts.
    pub max_client_conn: Sourced<u32>,
}

/// What discovery found: each service's connection, the poolers' settings, the operators'
/// clusters, and what it could not read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovered {
    pub connections: BTreeMap<ServiceKey, Connection>,
    pub poolers: BTreeMap<ServiceKey, PoolerSettings>,
    pub operators: Vec<OperatorCluster>,
    pub notes: Vec<String>,
}

impl Discovered {
    pub fn operator(&self, namespace: &str, name: &str) -> Option<&OperatorCluster> {
        self.operators.iter().find(|o| o.namespace == namespace && o.name == name)
    }
}

/// The engine a service's pod template runs, if it is a server or a pooler.
pub fn engine(service: &Service) -> Option<Engine> {
    engines::engine_of_containers(&service.containers).map(|(e, _)| e)
}

/// The ConfigMaps discovery needs from a pod template: those env vars that may name a
/// database or a pooler setting take from (by key, or all keys with `envFrom`), and a
/// pooler's volumes (its `pgbouncer.ini`). The cockpit reads these and no other.
pub fn config_maps_to_read(spec: &PodSpec) -> Vec<String> {
    let pooler =
        spec.containers.iter().any(|c| c.image.as_deref().and_then(engines::engine_of) == Some(Engine::PgBouncer));
    let settings = ["default_pool_size", "max_client_conn", "max_db_connections", "reserve_pool_size"];
    let wanted = |name: &str| {
        address::database_var(name).is_some()
            || (pooler
                && (engines::pooler_upstream_var(name)
                    || settings
                        .iter()
                        .any(|s| engines::pooler_env_names(s).iter().any(|n| n.eq_ignore_ascii_case(name)))))
    };
    let mut names: Vec<String> = Vec::new();
    for c in &spec.containers {
        names.extend(c.env_from.iter().flatten().filter_map(|f| f.config_map_ref.as_ref()).map(|r| r.name.clone()));
        for var in c.env.iter().flatten().filter(|v| wanted(&v.name)) {
            names.extend(var.value_from.as_ref().and_then(|f| f.config_map_key_ref.as_ref()).map(|r| r.name.clone()));
        }
    }
    if pooler {
        names.extend(config_map_volumes(spec));
    }
    names.sort();
    names.dedup();
    names
}

/// The ConfigMaps a pod mounts as volumes, directly or projected (a pooler's ini).
pub fn config_map_volumes(spec: &PodSpec) -> Vec<String> {
    let mut names = Vec::new();
    for v in spec.volumes.iter().flatten() {
        names.extend(v.config_map.as_ref().map(|c| c.name.clone()));
        let projected = v.projected.iter().flat_map(|p| p.sources.iter().flatten());
        names.extend(projected.filter_map(|s| s.config_map.as_ref()).map(|c| c.name.clone()));
    }
    names
}

/// Finds every service's database connection and every pooler's settings.
pub fn discover<S: Borrow<Service>>(services: &[S], network: &Network) -> Discovered {
    let world = World::new(services, network);
    let mut found =
        Discovered { operators: network.operators.clone(), notes: network.notes.clone(), ..Default::default() };
    for service in services.iter().map(Borrow::borrow) {
        let engine = engine(service);
        if engine == Some(Engine::PgBouncer) {
            found.poolers.insert(service.key.clone(), world.pooler_settings(service));
        }
        if engine == Some(Engine::Postgres) || service.database.serves.is_some() {
            continue;
        }
        match world.connection(service, engine == Some(Engine::PgBouncer)) {
            Ok(Some(connection)) => {
                found.connections.insert(service.key.clone(), connection);
            }
            Ok(None) => {}
            Err(unreadable) => {
                found.notes.push(format!("{}/{}: {unreadable}", service.key.namespace, service.key.name))
            }
        }
    }
    found
}

/// The lookups discovery makes, indexed once per run.
struct World<'a> {
    network: &'a Network,
    services: HashMap<(&'a str, &'a str), &'a NetService>,
    workloads: HashMap<&'a str, Vec<&'a Service>>,
}

/// A value a host may be read from, and the env var it came through.
struct Candidate {
    via: String,
    value: Result<String, Target>,
    shape: Shape,
}

impl<'a> World<'a> {
    fn new<S: Borrow<Service>>(rows: &'a [S], network: &'a Network) -> Self {
        let services = network.services.iter().map(|s| ((s.namespace.as_str(), s.name.as_str()), s)).collect();
        let mut workloads: HashMap<&str, Vec<&Service>> = HashMap::new();
        for row in rows.iter().map(Borrow::borrow) {
            workloads.entry(row.key.namespace.as_str()).or_default().push(row);
        }
        World { network, services, workloads }
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<&'a BTreeMap<String, String>> {
        self.network.config_maps.get(&(namespace.to_string(), name.to_string()))
    }

    /// The env values that may name a database, in the template's order. A pooler's own
    /// upstream settings (`DB_HOST`, `POSTGRESQL_HOST`) count for it too.
    fn candidates(&self, service: &Service, pooler: bool) -> Vec<Candidate> {
        let ns = service.key.namespace.as_str();
        let shape_of = |name: &str| {
            address::database_var(name)
                .or_else(|| (pooler && engines::pooler_upstream_var(name)).then_some(Shape::Host))
                .map(|s| if name.to_ascii_uppercase().ends_with("URL") { Shape::Url } else { s })
        };
        let mut out = Vec::new();
        for var in &service.env {
            match &var.value {
                EnvValue::Literal(value) => {
                    if let Some(shape) = shape_of(&var.name) {
                        out.push(Candidate { via: var.name.clone(), value: Ok(value.clone()), shape });
                    }
                }
                EnvValue::FromConfigMap { config_map, key } if key == "*" => {
                    let prefix = var.name.trim_end_matches('*');
                    for (k, value) in self.config_map(ns, config_map).into_iter().flatten() {
                        let name = format!("{prefix}{k}");
                        if let Some(shape) = shape_of(&name) {
                            let via = format!("{name} from ConfigMap {config_map}");
                            out.push(Candidate { via, value: Ok(value.clone()), shape });
                        }
                    }
                }
                EnvValue::FromConfigMap { config_map, key } => {
                    let (Some(shape), Some(value)) =
                        (shape_of(&var.name), self.config_map(ns, config_map).and_then(|d| d.get(key)))
                    else {
                        continue;
                    };
                    let via = format!("{} from ConfigMap {config_map}", var.name);
                    out.push(Candidate { via, value: Ok(value.clone()), shape });
                }
                EnvValue::FromSecret { secret, key } if key != "*" => {
                    if let Some(shape) = shape_of(&var.name) {
                        let target =
                            Target::Secret { namespace: ns.to_string(), secret: secret.clone(), key: key.clone() };
                        out.push(Candidate {
                            via: format!("{} from Secret {secret}", var.name),
                            value: Err(target),
                            shape,
                        });
                    }
                }
                _ => {}
            }
        }
        if pooler {
            for ini in self.pooler_inis(service) {
                for host in ini.hosts {
                    out.push(Candidate { via: "pgbouncer.ini".into(), value: Ok(host), shape: Shape::Host });
                }
            }
        }
        out
    }

    /// The connection a service makes: the first candidate that reaches a workload or an
    /// operator's cluster; else the first Secret; else the first host named. `Err`: the
    /// only candidates hold nothing readable (said as a note, never guessed at).
    fn connection(&self, service: &Service, pooler: bool) -> Result<Option<Connection>, String> {
        let mut secret = None;
        let mut host = None;
        let mut unreadable = None;
        for candidate in self.candidates(service, pooler) {
            let value = match candidate.value {
                Err(target) => {
                    secret.get_or_insert(Connection { target, via: candidate.via, note: None });
                    continue;
                }
                Ok(value) => value,
            };
            let name = match address::host_of(&value, candidate.shape) {
                Ok(name) => name,
                Err(NoHost::OtherEngine(_)) => continue,
                Err(NoHost::Unreadable) => {
                    unreadable.get_or_insert(format!("{} holds no host the cockpit can read", candidate.via));
                    continue;
                }
            };
            if is_loopback(&name) {
                continue;
            }
            match self.resolve(&service.key, &name) {
                Ok(target) => return Ok(Some(Connection { target, via: candidate.via, note: None })),
                Err(note) => {
                    host.get_or_insert(Connection { target: Target::Host(name), via: candidate.via, note });
                }
            }
        }
        match (secret.or(host), unreadable) {
            (None, Some(why)) => Err(why),
            (found, _) => Ok(found),
        }
    }

    /// The workload or operator cluster a host name reaches, or why none does.
    fn resolve(&self, from: &ServiceKey, host: &str) -> Result<Target, Option<String>> {
        let Some((namespace, name)) = address::in_cluster(host, &from.namespace) else {
            return Err(None);
        };
        if let Some(cluster) =
            self.network.operators.iter().find(|o| o.namespace == namespace && o.operator.serves(&o.name, name))
        {
            return Ok(Target::Operator { namespace: cluster.namespace.clone(), name: cluster.name.clone() });
        }
        let Some(svc) = self.services.get(&(namespace, name)) else {
            return Err(Some(format!("no Service {name} in namespace {namespace}")));
        };
        let Some(selector) = svc.selector.as_ref().filter(|s| !s.is_empty()) else {
            return Err(Some(format!("Service {namespace}/{name} has no selector")));
        };
        let selected: Vec<&Service> = self
            .workloads
            .get(namespace)
            .into_iter()
            .flatten()
            .copied()
            .filter(|w| selector.iter().all(|(k, v)| w.database.labels.get(k) == Some(v)))
            .filter(|w| w.key != *from)
            .collect();
        // A server or pooler first: a Service may select a metrics sidecar's workload too.
        let best = selected.iter().find(|w| engine(w).is_some() || w.database.serves.is_some()).or(selected.first());
        match best {
            Some(w) => Ok(Target::Workload(w.key.clone())),
            None => Err(Some(format!("Service {namespace}/{name} selects no Deployment or StatefulSet"))),
        }
    }

    fn pooler_inis(&self, service: &Service) -> Vec<engines::PoolerIni> {
        let ns = &service.key.namespace;
        service
            .database
            .config_volumes
            .iter()
            .filter_map(|cm| self.config_map(ns, cm))
            .flat_map(|data| data.values())
            .filter_map(|text| engines::parse_pgbouncer_ini(text))
            .collect()
    }

    /// A pooler's settings: its env (literal or from a ConfigMap), else its ini, else
    /// PgBouncer's defaults.
    fn pooler_settings(&self, service: &Service) -> PoolerSettings {
        let inis = self.pooler_inis(service);
        let setting = |name: &str| -> Option<Sourced<u32>> {
            let names = engines::pooler_env_names(name);
            let from_env = service.env.iter().find_map(|v| {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(&v.name)) {
                    return None;
                }
                let value = match &v.value {
                    EnvValue::Literal(value) => value.clone(),
                    EnvValue::FromConfigMap { config_map, key } => {
                        self.config_map(&service.key.namespace, config_map)?.get(key)?.clone()
                    }
                    _ => return None,
                };
                super::count::parse_count(&value).map(|n| Sourced { value: n, source: Source::Env(v.name.clone()) })
            });
            from_env.or_else(|| {
                inis.iter().flat_map(|i| &i.settings).find(|(k, _)| k == name).and_then(|(_, v)| {
                    super::count::parse_count(v).map(|n| Sourced { value: n, source: Source::Ini(name.to_string()) })
                })
            })
        };
        let pgbouncer_default = |value| Sourced { value, source: Source::EngineDefault("PgBouncer") };
        let mut pool = setting("default_pool_size").unwrap_or(pgbouncer_default(engines::PGBOUNCER_DEFAULT_POOL_SIZE));
        if let Some(cap) = setting("max_db_connections").filter(|c| c.value > 0 && c.value < pool.value) {
            pool = cap;
        }
        PoolerSettings {
            pool,
            reserve: setting("reserve_pool_size").unwrap_or(pgbouncer_default(0)),
            max_client_conn: setting("max_client_conn")
                .unwrap_or(pgbouncer_default(engines::PGBOUNCER_DEFAULT_MAX_CLIENT_CONN)),
        }
    }
}

/// A sidecar proxy on the pod itself (Cloud SQL proxy and the like): the database behind
/// it is not in the cluster's view.
fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests;
