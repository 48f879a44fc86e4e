//! The cluster session: owns the watches of the current scope (context + namespace),
//! rebuilds the services model when they change and publishes it as the latest value.
//! The UI sends intents (switch namespace or context); a switch drops the old watches, so
//! a late answer for the old scope can never reach the screen, and every published view
//! carries the generation it belongs to.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch as latest};

use super::connect::{ConnectOptions, Connection, context_names};
use super::mutate::missing_permissions;
use super::watch::{PodObserver, ResourceKind, WatchHealth, Watches, visibility};
use crate::config::profile::ProfileChoice;
use crate::model::budget::DatabaseBudget;
use crate::model::capacity::{self, NodeCapacity};
use crate::model::drift::{Difference, SameService};
use crate::model::live::{Inputs, LiveModel};
use crate::model::pods::PodFacts;
use crate::model::profile::Profile;
use crate::model::resources::Room;
use crate::model::service::Service;
use crate::model::services::{NamespaceFinding, ReadinessHistory};
use crate::model::slo::SloRule;

/// Changes arriving within this window are folded into one update: a rollout touching
/// hundreds of pods costs a handful of updates, not hundreds.
const COALESCE: Duration = Duration::from_millis(50);

/// Under changes that never stop (a large cluster's pods all day), views go out at most
/// this often: each costs a pass over the services and a frame, whatever changed, and an
/// operator reads a screen four times a second at best. A change after a quiet spell
/// still shows within [`COALESCE`].
const STEADY_INTERVAL: Duration = Duration::from_millis(250);

/// What the cockpit shows about the cluster at one moment.
#[derive(Clone, Debug)]
pub struct ClusterView {
    /// Increases with every switch of scope.
    pub generation: u64,
    pub context: String,
    pub server_url: String,
    /// `None`: all namespaces.
    pub namespace: Option<String>,
    /// A service the last update did not touch is the same `Arc` as in the view before.
    pub services: Arc<Vec<Arc<Service>>>,
    pub health: BTreeMap<ResourceKind, WatchHealth>,
    /// Namespaces seen in the current scope, for the namespace switcher.
    pub namespaces: Vec<String>,
    pub contexts: Vec<String>,
    /// When the services were last rebuilt from fresh watch data.
    pub built_at: Timestamp,
    /// A switch that failed (e.g. the new context is unreachable); the old scope stays.
    pub error: Option<String>,
    /// The scope is still listing for the first time.
    pub syncing: bool,
    /// Changes RBAC does not allow here (`update deployments/scale in ns shop`).
    pub denied: Vec<String>,
    /// The connection budget of every database the services in scope use.
    pub budgets: Arc<Vec<DatabaseBudget>>,
    /// What database discovery could not read (a ConfigMap, an operator's API).
    pub discovery_notes: Arc<Vec<String>>,
    /// Findings no service owns (a PDB that selects nothing).
    pub namespace_findings: Arc<Vec<NamespaceFinding>>,
    /// The profile's SLO log rules, for the log panes.
    pub slo_rules: Arc<Vec<SloRule>>,
    /// The profile in use for this context, and its first problem (a profile with errors
    /// is not used; the cockpit says so instead of showing half a budget).
    pub profile: ProfileStatus,
    /// Set when several clusters are shown at once: each one's state and the services
    /// that differ between them (see [`super::fleet`]). `None` for one cluster.
    pub fleet: Option<Arc<FleetStatus>>,
    /// Each cluster's nodes' free capacity, by the cluster a service's key names (`None`
    /// for one cluster): the room a scale-up has, read when one is planned.
    pub capacity: BTreeMap<Option<String>, Arc<NodeCapacity>>,
}

impl ClusterView {
    /// How many more of `service`'s pods its cluster's nodes hold now.
    pub fn room(&self, service: &Service) -> Room {
        let unknown = NodeCapacity::default();
        let capacity = self.capacity.get(&service.key.cluster).map_or(&unknown, |c| &**c);
        capacity::room_for(capacity, &service.need)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileStatus {
    pub file: Option<PathBuf>,
    /// The first problem, with how many more there are.
    pub problem: Option<String>,
    /// Every problem, one line each (`file:line: error: field: …`).
    pub problems: Vec<String>,
    /// Set when the profile exists and does not load: every change is refused until it
    /// does, since its singletons and production flag are unknown.
    pub refusal: Option<String>,
    pub production: bool,
}

/// What the UI may ask of the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// `None`: all namespaces.
    SwitchNamespace(Option<String>),
    SwitchContext(String),
    /// Read the current context's profile again (the operator fixed it).
    ReloadProfile,
}

pub struct SessionHandle {
    pub views: latest::Receiver<Arc<ClusterView>>,
    /// The connection of the current scope (changes are made through it).
    pub connection: latest::Receiver<Connection>,
    /// In a fleet, each connected cluster's connection by context: a change goes through
    /// the connection of its service's cluster. Empty for one cluster.
    pub clusters: latest::Receiver<BTreeMap<String, Connection>>,
    pub intents: mpsc::Sender<Intent>,
    task: tokio::task::JoinHandle<()>,
}

impl SessionHandle {
    /// A handle over a task that publishes views of its own (a fleet's merged view).
    pub(super) fn from_parts(
        views: latest::Receiver<Arc<ClusterView>>,
        connection: latest::Receiver<Connection>,
        clusters: latest::Receiver<BTreeMap<String, Connection>>,
        intents: mpsc::Sender<Intent>,
        task: tokio::task::JoinHandle<()>,
    ) -> SessionHandle {
        SessionHandle { views, connection, clusters, intents, task }
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the session on an established connection.
pub fn start(connection: Connection, options: ConnectOptions, profiles: ProfileChoice) -> SessionHandle {
    let contexts = context_names(&options);
    let namespace = connection.scope().map(str::to_string);
    let (profile, slo_rules, profile_status) = load_profile(&profiles, &connection.context);
    let scope = Scope { connection, namespace, generation: 1, profile, slo_rules, profile_status };
    let first = Arc::new(empty_view(&scope, &contexts, None));
    let (publish, views) = latest::channel(first);
    let (intents, inbox) = mpsc::channel(8);
    let (connections, connection) = latest::channel(scope.connection.clone());
    let task = tokio::spawn(run(scope, options, profiles, contexts, publish, connections, inbox));
    let (_, clusters) = latest::channel(BTreeMap::new());
    SessionHandle { views, connection, clusters, intents, task }
}

struct Scope {
    connection: Connection,
    namespace: Option<String>,
    generation: u64,
    profile: Arc<Profile>,
    /// The profile's log rules, shared with every view (not copied per rebuild).
    slo_rules: Arc<Vec<SloRule>>,
    profile_status: ProfileStatus,
}

/// The profile for a context (profiles follow the context: `profiles/<context>.toml`).
fn load_profile(profiles: &ProfileChoice, context: &str) -> (Arc<Profile>, Arc<Vec<SloRule>>, ProfileStatus) {
    let (loaded, problems) = profiles.load(context);
    let problem = problems.first().map(|first| match problems.len() {
        1 => first.to_string(),
        n => format!("{first} (+{} more; run `config check`)", n - 1),
    });
    let status = ProfileStatus {
        file: loaded.file,
        problem,
        problems: problems.iter().map(ToString::to_string).collect(),
        refusal: crate::config::profile::refusal(&problems),
        production: loaded.profile.production,
    };
    let slo_rules = Arc::new(loaded.profile.slo.clone());
    (Arc::new(loaded.profile), slo_rules, status)
}

fn empty_view(scope: &Scope, contexts: &[String], error: Option<String>) -> ClusterView {
    ClusterView {
        generation: scope.generation,
        context: scope.connection.context.clone(),
        server_url: scope.connection.server_url.clone(),
        namespace: scope.namespace.clone(),
        services: Arc::new(Vec::new()),
        health: ResourceKind::ALL.iter().map(|k| (*k, WatchHealth::Syncing { since: Timestamp::now() })).collect(),
        namespaces: Vec::new(),
        contexts: contexts.to_vec(),
        built_at: Timestamp::now(),
        error,
        syncing: true,
        denied: Vec::new(),
        budgets: Arc::new(Vec::new()),
        discovery_notes: Arc::new(Vec::new()),
        namespace_findings: Arc::new(Vec::new()),
        slo_rules: scope.slo_rules.clone(),
        profile: scope.profile_status.clone(),
        fleet: None,
        capacity: BTreeMap::new(),
    }
}

async fn run(
    mut scope: Scope,
    options: ConnectOptions,
    profiles: ProfileChoice,
    contexts: Vec<String>,
    publish: latest::Sender<Arc<ClusterView>>,
    connections: latest::Sender<Connection>,
    mut inbox: mpsc::Receiver<Intent>,
) {
    let mut error = None;
    loop {
        let readiness = Arc::new(Mutex::new(ReadinessHistory::default()));
        let mut live = LiveModel::default();
        let watches = Watches::start(
            scope.connection.client.clone(),
            &scope.connection.server_url,
            scope.namespace.as_deref(),
            scope.generation,
            Some(readiness_observer(readiness.clone())),
        );
        let mut pulse = watches.subscribe();
        let _ = publish.send(Arc::new(empty_view(&scope, &contexts, error.take())));
        let client = scope.connection.client.clone();
        let namespace = scope.namespace.clone();
        let mut permissions = std::pin::pin!(async move { missing_permissions(&client, namespace.as_deref()).await });
        let mut denied: Option<Vec<String>> = None;
        let mut last_update = tokio::time::Instant::now() - STEADY_INTERVAL;
        // When freed memory was last handed back; `None` until the scope's first list is in.
        let mut gave_back: Option<tokio::time::Instant> = None;
        let intent = loop {
            tokio::select! {
                missing = &mut permissions, if denied.is_none() => {
                    let ns = scope.namespace.as_deref();
                    denied = Some(missing.iter().map(|p| p.describe(ns)).collect());
                    let view = build_view(&scope, &watches, &mut live, &readiness, &contexts, &publish, denied.as_deref());
                    let _ = publish.send(Arc::new(view));
                }
                changed = pulse.changed() => {
                    if changed.is_err() {
                        // Every watch task ended (cannot happen while `watches` lives).
                        break inbox.recv().await;
                    }
                    let soonest = last_update + STEADY_INTERVAL;
                    tokio::time::sleep_until(soonest.max(tokio::time::Instant::now() + COALESCE)).await;
                    last_update = tokio::time::Instant::now();
                    pulse.borrow_and_update();
                    let view = build_view(&scope, &watches, &mut live, &readiness, &contexts, &publish, denied.as_deref());
                    let listed = !view.syncing;
                    let _ = publish.send(Arc::new(view));
                    if listed && gave_back.is_none_or(|at| at.elapsed() >= crate::memory::GIVE_BACK_EVERY) {
                        crate::memory::give_back_freed();
                        gave_back = Some(tokio::time::Instant::now());
                    }
                }
                intent = inbox.recv() => match intent {
                    // Same scope, same watches: only the profile's part of the view changes.
                    Some(Intent::ReloadProfile) => {
                        (scope.profile, scope.slo_rules, scope.profile_status) =
                            load_profile(&profiles, &scope.connection.context);
                        let view = build_view(&scope, &watches, &mut live, &readiness, &contexts, &publish, denied.as_deref());
                        let _ = publish.send(Arc::new(view));
                    }
                    other => break other,
                },
            }
        };
        let Some(intent) = intent else { return };
        drop(watches);
        match switch(&scope, &options, &profiles, intent).await {
            Ok(next) => {
                scope = next;
                let _ = connections.send(scope.connection.clone());
            }
            Err(message) => {
                // Keep the scope we had; say why the switch did not happen.
                error = Some(message);
                scope.generation += 1;
            }
        }
    }
}

/// The scope an intent asks for; a context switch connects first and fails cleanly.
async fn switch(
    current: &Scope,
    options: &ConnectOptions,
    profiles: &ProfileChoice,
    intent: Intent,
) -> Result<Scope, String> {
    let generation = current.generation + 1;
    match intent {
        Intent::ReloadProfile => {
            let (profile, slo_rules, profile_status) = load_profile(profiles, &current.connection.context);
            Ok(Scope {
                connection: current.connection.clone(),
                namespace: current.namespace.clone(),
                generation,
                profile,
                slo_rules,
                profile_status,
            })
        }
        Intent::SwitchNamespace(namespace) => Ok(Scope {
            connection: current.connection.clone(),
            namespace,
            generation,
            profile: current.profile.clone(),
            slo_rules: current.slo_rules.clone(),
            profile_status: current.profile_status.clone(),
        }),
        Intent::SwitchContext(context) => {
            let opts = ConnectOptions {
                context: Some(context.clone()),
                // The new context's own default namespace, as kubectl would use.
                namespace: None,
                ..options.clone()
            };
            let connection =
                super::connect::connect(&opts).await.map_err(|e| format!("switching to {context}: {e}"))?;
            let namespace = connection.scope().map(str::to_string);
            let (profile, slo_rules, profile_status) = load_profile(profiles, &connection.context);
            Ok(Scope { connection, namespace, generation, profile, slo_rules, profile_status })
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_view(
    scope: &Scope,
    watches: &Watches,
    live: &mut LiveModel,
    readiness: &Mutex<ReadinessHistory>,
    contexts: &[String],
    previous: &latest::Sender<Arc<ClusterView>>,
    denied: Option<&[String]>,
) -> ClusterView {
    let now = Timestamp::now();
    let health = watches.health();
    let changes = watches.take_changes();
    let history = readiness.lock().unwrap_or_else(|p| p.into_inner());
    let inputs = Inputs {
        readiness: &history,
        now,
        visibility: visibility(&health),
        profile: &scope.profile,
        scope: scope.namespace.as_deref(),
    };
    let current = live.update(watches, changes, &inputs);
    drop(history);
    let built = live.problems_first(current.services);
    let mut namespaces = watches.service_namespaces();
    if let Some(ns) = scope.namespace.as_ref().filter(|ns| !namespaces.contains(ns)) {
        namespaces.push(ns.clone());
        namespaces.sort();
    }
    let error = previous.borrow().error.clone().filter(|_| previous.borrow().generation == scope.generation);
    ClusterView {
        generation: scope.generation,
        context: scope.connection.context.clone(),
        server_url: scope.connection.server_url.clone(),
        namespace: scope.namespace.clone(),
        services: Arc::new(built),
        health,
        namespaces,
        contexts: contexts.to_vec(),
        built_at: now,
        error,
        syncing: !watches.all_synced(),
        denied: denied.unwrap_or_default().to_vec(),
        budgets: Arc::new(current.budgets),
        discovery_notes: Arc::new(current.discovery_notes),
        namespace_findings: Arc::new(current.namespace_findings),
        slo_rules: scope.slo_rules.clone(),
        profile: scope.profile_status.clone(),
        fleet: None,
        capacity: [(None, current.capacity)].into(),
    }
}

/// Records readiness transitions as the pod watch delivers them (the model counts them
/// to find flapping pods).
fn readiness_observer(history: Arc<Mutex<ReadinessHistory>>) -> PodObserver {
    Arc::new(move |pod: &PodFacts, previous: Option<&PodFacts>| {
        let Some(previous) = previous else { return };
        if pod.ready != previous.ready {
            history.lock().unwrap_or_else(|p| p.into_inner()).record(&pod.namespace, &pod.name, Timestamp::now());
        }
    })
}

// ---- What the view says about the clusters of a fleet (filled by `super::fleet`). ----

/// What the cockpit shows about the clusters of a fleet.
#[derive(Clone, Debug, Default)]
pub struct FleetStatus {
    /// In the order the operator named them.
    pub members: Vec<Member>,
    /// The services that run in several reachable clusters and differ; each difference's
    /// values are in the order of `drift_clusters`.
    pub drift: BTreeMap<SameService, Vec<Difference>>,
    pub drift_clusters: Vec<String>,
}

impl FleetStatus {
    pub fn member(&self, context: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.context == context)
    }

    /// The differences of the service `s` (any cluster's copy) across the fleet.
    pub fn drift_of(&self, s: &Service) -> Option<&[Difference]> {
        self.drift.get(&(s.key.namespace.clone(), s.key.name.clone())).map(Vec::as_slice)
    }
}

/// One cluster of the fleet as last heard from.
#[derive(Clone, Debug)]
pub struct Member {
    pub context: String,
    /// Its watches' health (empty while it has never been reached).
    pub health: BTreeMap<ResourceKind, WatchHealth>,
    /// Why it could not be connected to, while it cannot.
    pub unreachable: Option<String>,
    /// Its profile marks it as production.
    pub production: bool,
}
