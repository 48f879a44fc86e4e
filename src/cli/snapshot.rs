//! One synced look at the cluster for headless commands: the same watches and model as
//! the cockpit, taken once. A kind the user may not list is a warning, not a failure.

use color_eyre::Result;

use super::args::GlobalArgs;
use super::{Target, connect};
use crate::cluster::watch::{ResourceKind, WatchHealth, Watches};
use crate::config::paths::Paths;
use crate::exit;
use crate::model::budget::DatabaseBudget;
use crate::model::service::Service;
use crate::model::services::{self, NamespaceFinding, ReadinessHistory, Visibility};

pub struct Snapshot {
    pub target: Target,
    pub services: Vec<Service>,
    /// The connection budget of every database in scope (from the profile and manifests).
    pub budgets: Vec<DatabaseBudget>,
    /// The profile marks this context as production.
    pub production: bool,
    /// The profile in use (empty when there is none; one with errors stops the command).
    pub profile: crate::model::profile::Profile,
    pub namespace_findings: Vec<NamespaceFinding>,
    /// What database discovery could not read or resolve.
    pub discovery_notes: Vec<String>,
    pub visibility: Visibility,
    pub no_access: Vec<String>,
    /// The kinds RBAC does not let this user list, with the permission that is missing.
    pub forbidden: Vec<(ResourceKind, String)>,
    /// The objects the services were built from (nodes, every pod on them, PDBs).
    pub objects: services::ClusterObjects,
    pub now: jiff::Timestamp,
}

/// Lists everything in the flags' scope, or in `namespace` when given (a command about
/// one service needs only its namespace).
pub async fn take(global: &GlobalArgs, namespace: Option<&str>) -> Result<Snapshot> {
    take_with(global, namespace, true, "").await
}

/// [`take`], each warning said with `who` in front (`cluster eu: `, in a fleet).
pub async fn take_saying(global: &GlobalArgs, namespace: Option<&str>, who: &str) -> Result<Snapshot> {
    take_with(global, namespace, true, who).await
}

/// [`take`] with no profile at all: what discovery alone finds (`config init`).
pub async fn take_discovered(global: &GlobalArgs) -> Result<Snapshot> {
    take_with(global, None, false, "").await
}

async fn take_with(global: &GlobalArgs, namespace: Option<&str>, with_profile: bool, who: &str) -> Result<Snapshot> {
    let target = connect(global).await?;
    let (loaded, problems) = if with_profile {
        super::profiles(global, &Paths::from_env()).load(&target.connection.context)
    } else {
        Default::default()
    };
    for problem in &problems {
        eprintln!("{who}{problem}");
    }
    // Every command, not only those that read budgets: a broken profile's singletons and
    // `production = true` would otherwise silently stop guarding a scale or a rollout.
    if let Some(refusal) = crate::config::profile::refusal(&problems) {
        return Err(exit::usage(refusal));
    }
    let conn = &target.connection;
    let scope = namespace.or(conn.scope());
    let watches = Watches::start(conn.client.clone(), &conn.server_url, scope, 0, None);
    let unsynced = watches.wait_synced(conn.request_timeout).await;
    let workloads = [ResourceKind::Deployments, ResourceKind::StatefulSets];
    if workloads.iter().all(|k| unsynced.iter().any(|(u, _)| u == k)) {
        let why = unsynced.iter().find_map(|(_, h)| match h {
            WatchHealth::Reconnecting { error, .. } => Some(error.clone()),
            _ => None,
        });
        return Err(exit::cluster(format!(
            "cannot list workloads from {} (context \"{}\"): {}",
            conn.server_url,
            conn.context,
            why.unwrap_or_else(|| "no answer in time".into())
        )));
    }
    watches.read_config_maps_now().await;
    let health = watches.health();
    let mut no_access = Vec::new();
    let mut forbidden = Vec::new();
    // Kinds only one command needs are said by that command (the scale preview's node capacity).
    for kind in ResourceKind::ALL.into_iter().filter(|k| !k.is_optional()) {
        match health.get(&kind) {
            Some(WatchHealth::NoAccess { permission }) => {
                eprintln!("{who}warning: no access: {permission}");
                no_access.push(permission.clone());
                forbidden.push((kind, permission.clone()));
            }
            Some(h) if !h.is_synced() => {
                eprintln!("{who}warning: {} not listed in time; treated as unknown", kind.plural())
            }
            _ => {}
        }
    }
    let visibility = crate::cluster::watch::visibility(&health);
    let objects = watches.objects();
    let now = jiff::Timestamp::now();
    let services::Built { mut services, namespace_findings, .. } =
        services::build_scope(&objects, &ReadinessHistory::default(), now, visibility);
    let production = loaded.profile.production;
    let found = crate::model::discovery::discover(&services, &objects.network);
    let budgets = crate::model::profile::apply(&mut services, &loaded.profile, scope, &found);
    services::problems_first(&mut services);
    drop(watches);
    Ok(Snapshot {
        target,
        services,
        budgets,
        production,
        profile: loaded.profile,
        namespace_findings,
        discovery_notes: found.notes,
        visibility,
        no_access,
        forbidden,
        objects,
        now,
    })
}

/// [`take`] across every namespace, whatever the flags say: a node's pods, and the
/// budgets that guard them, belong to any namespace.
pub async fn take_cluster_wide(global: &GlobalArgs) -> Result<Snapshot> {
    let global = GlobalArgs { all_namespaces: true, namespace: None, ..global.clone() };
    take(&global, None).await
}
