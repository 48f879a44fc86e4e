//! Several clusters in one cockpit: a session per cluster (its own connection, watches
//! and live model), merged into one view whose services carry their cluster. A cluster
//! that is slow, down or forbidden only changes its own state: the merge publishes
//! whatever each cluster last said, and one that could not be reached at the start is
//! tried again in the background until it answers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch as latest};
use tokio::task::JoinSet;

use super::connect::{ConnectOptions, Connection};
use super::session::{self, ClusterView, FleetStatus, Intent, Member, SessionHandle};
use super::watch::{ResourceKind, WatchHealth};
use crate::config::profile::ProfileChoice;
use crate::model::budget::DatabaseBudget;
use crate::model::drift;
use crate::model::service::{Service, ServiceKey};

/// How often a cluster that could not be reached is tried again.
const RETRY: Duration = Duration::from_secs(15);

/// Changes of several clusters arriving within this window make one merged view.
const COALESCE: Duration = Duration::from_millis(50);

/// A cluster of the fleet at the start: connected, or why not.
pub struct Start {
    pub context: String,
    pub connected: Result<Connection, String>,
}

struct Cluster {
    context: String,
    session: Option<SessionHandle>,
    unreachable: Option<String>,
    retrying: bool,
    /// The services last merged, tagged with the cluster, and what they were made from.
    tagged: Option<(Services, Services)>,
    /// Each service's tagged copy by what it was made from: a service the cluster's last
    /// update did not touch (the same `Arc`) keeps its copy instead of being cloned again.
    copies: BTreeMap<ServiceKey, (Arc<Service>, Arc<Service>)>,
}

/// A view's services, shared.
type Services = Arc<Vec<Arc<Service>>>;

/// Starts a session per connected cluster and publishes their merged view. `options` are
/// the flags' (each cluster gets its own context). A change goes through its service's
/// cluster's connection (the handle's `clusters`); the handle's `connection` is the first
/// connected cluster's, for what is not about one service (the audit trail, databases).
pub fn start(clusters: Vec<Start>, options: ConnectOptions, profiles: ProfileChoice) -> SessionHandle {
    let first = clusters.iter().find_map(|c| c.connected.as_ref().ok().cloned());
    let starts_connected: Vec<(String, Connection)> =
        clusters.iter().filter_map(|c| Some((c.context.clone(), c.connected.as_ref().ok()?.clone()))).collect();
    let clusters: Vec<Cluster> = clusters
        .into_iter()
        .map(|c| {
            let (session, unreachable) = match c.connected {
                Ok(connection) => {
                    let opts = ConnectOptions { context: Some(c.context.clone()), ..options.clone() };
                    (Some(session::start(connection, opts, profiles.clone())), None)
                }
                Err(why) => (None, Some(why)),
            };
            Cluster { context: c.context, session, unreachable, retrying: false, tagged: None, copies: BTreeMap::new() }
        })
        .collect();
    let connections = starts_connected.into_iter().collect();
    let mut state = Merge { clusters, generation: 0, connections, note: None };
    let first_view = Arc::new(state.merge());
    let (publish, views) = latest::channel(first_view);
    let (intents, inbox) = mpsc::channel(8);
    let connection = first.expect("a fleet starts with at least one reachable cluster");
    let (_connections, connection) = latest::channel(connection);
    let (connected, clusters) = latest::channel(state.connections.clone());
    let task = tokio::spawn(run(state, options, profiles, publish, connected, inbox));
    SessionHandle::from_parts(views, connection, clusters, intents, task)
}

struct Merge {
    clusters: Vec<Cluster>,
    generation: u64,
    /// Every connected cluster's connection, by context (changes go through these).
    connections: BTreeMap<String, Connection>,
    /// Said once in the next view (why an intent was not followed).
    note: Option<String>,
}

async fn run(
    mut state: Merge,
    options: ConnectOptions,
    profiles: ProfileChoice,
    publish: latest::Sender<Arc<ClusterView>>,
    connected: latest::Sender<BTreeMap<String, Connection>>,
    mut inbox: mpsc::Receiver<Intent>,
) {
    let mut retry = tokio::time::interval(RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut attempts: JoinSet<(usize, Result<Connection, String>)> = JoinSet::new();
    loop {
        let changed = {
            let waits: Vec<_> = state
                .clusters
                .iter_mut()
                .filter_map(|c| c.session.as_mut())
                .map(|s| Box::pin(s.views.changed()))
                .collect();
            async move {
                if waits.is_empty() {
                    std::future::pending::<()>().await;
                }
                let _ = futures::future::select_all(waits).await;
            }
        };
        tokio::select! {
            () = changed => {
                tokio::time::sleep(COALESCE).await;
                let _ = publish.send(Arc::new(state.merge()));
            }
            _ = retry.tick() => {
                for (i, c) in state.clusters.iter_mut().enumerate() {
                    if c.session.is_none() && !c.retrying {
                        c.retrying = true;
                        let opts = ConnectOptions { context: Some(c.context.clone()), ..options.clone() };
                        attempts.spawn(async move {
                            (i, super::connect::connect(&opts).await.map_err(|e| e.to_string()))
                        });
                    }
                }
            }
            Some(Ok((i, attempt))) = attempts.join_next(), if !attempts.is_empty() => {
                let c = &mut state.clusters[i];
                c.retrying = false;
                match attempt {
                    Ok(connection) => {
                        let opts = ConnectOptions { context: Some(c.context.clone()), ..options.clone() };
                        state.connections.insert(c.context.clone(), connection.clone());
                        let _ = connected.send(state.connections.clone());
                        c.session = Some(session::start(connection, opts, profiles.clone()));
                        c.unreachable = None;
                    }
                    Err(why) => c.unreachable = Some(why),
                }
                let _ = publish.send(Arc::new(state.merge()));
            }
            intent = inbox.recv() => match intent {
                None => return,
                // A fleet's scope is its namespaces; switching one context is not a fleet.
                Some(Intent::SwitchContext(context)) => {
                    state.note = Some(format!(
                        "a fleet keeps the clusters it was started with; for {context} alone, start the cockpit with --context {context}"
                    ));
                    let _ = publish.send(Arc::new(state.merge()));
                }
                Some(intent) => {
                    for s in state.clusters.iter().filter_map(|c| c.session.as_ref()) {
                        let _ = s.intents.send(intent.clone()).await;
                    }
                }
            },
        }
    }
}

impl Merge {
    /// One view of every cluster: services tagged with their cluster (a cluster whose
    /// services did not change keeps its tagged list), each cluster's health, the drift.
    fn merge(&mut self) -> ClusterView {
        self.generation += 1;
        let views: Vec<Option<Arc<ClusterView>>> =
            self.clusters.iter_mut().map(|c| c.session.as_mut().map(|s| s.views.borrow_and_update().clone())).collect();
        for (c, view) in self.clusters.iter_mut().zip(&views) {
            let Some(view) = view else { continue };
            let fresh = match &c.tagged {
                Some((from, _)) => !Arc::ptr_eq(from, &view.services),
                None => true,
            };
            if fresh {
                let mut copies = BTreeMap::new();
                let tagged: Vec<Arc<Service>> = view
                    .services
                    .iter()
                    .map(|s| {
                        let copy = match c.copies.get(&s.key) {
                            Some((from, copy)) if Arc::ptr_eq(from, s) => copy.clone(),
                            _ => {
                                let mut copy = Service::clone(s);
                                copy.key.cluster = Some(c.context.clone());
                                Arc::new(copy)
                            }
                        };
                        copies.insert(s.key.clone(), (s.clone(), copy.clone()));
                        copy
                    })
                    .collect();
                c.copies = copies;
                c.tagged = Some((view.services.clone(), Arc::new(tagged)));
            }
        }
        let reached: Vec<(&Cluster, &Arc<ClusterView>)> =
            self.clusters.iter().zip(&views).filter_map(|(c, v)| Some((c, v.as_ref()?))).collect();
        let lists: Vec<&[Arc<Service>]> =
            reached.iter().filter_map(|(c, _)| c.tagged.as_ref().map(|(_, t)| t.as_slice())).collect();
        let drift = drift::across(&lists);
        let drift_clusters = reached.iter().map(|(c, _)| c.context.clone()).collect();
        let members: Vec<Member> = self
            .clusters
            .iter()
            .zip(&views)
            .map(|(c, v)| Member {
                context: c.context.clone(),
                health: v.as_ref().map(|v| v.health.clone()).unwrap_or_default(),
                unreachable: c.unreachable.clone(),
                production: v.as_ref().is_some_and(|v| v.profile.production),
            })
            .collect();

        let mut services: Vec<Arc<Service>> = lists.iter().flat_map(|l| l.iter().cloned()).collect();
        crate::model::services::problems_first(&mut services);
        let namespaces: BTreeSet<String> = reached.iter().flat_map(|(_, v)| v.namespaces.iter().cloned()).collect();
        let first = reached.first().map(|(_, v)| (*v).clone());
        let contexts: Vec<&str> = self.clusters.iter().map(|c| c.context.as_str()).collect();
        let mut profile = first.as_ref().map(|v| v.profile.clone()).unwrap_or_default();
        profile.production = members.iter().any(|m| m.production);
        profile.refusal =
            reached.iter().find_map(|(c, v)| v.profile.refusal.as_ref().map(|r| format!("{}: {r}", c.context)));
        ClusterView {
            generation: self.generation,
            context: contexts.join(","),
            server_url: first.as_ref().map(|v| v.server_url.clone()).unwrap_or_default(),
            namespace: first.as_ref().and_then(|v| v.namespace.clone()),
            services: Arc::new(services),
            health: merged_health(&reached),
            namespaces: namespaces.into_iter().collect(),
            contexts: contexts.iter().map(|c| c.to_string()).collect(),
            built_at: reached.iter().map(|(_, v)| v.built_at).max().unwrap_or_else(Timestamp::now),
            error: self
                .note
                .take()
                .or_else(|| reached.iter().find_map(|(c, v)| v.error.as_ref().map(|e| format!("{}: {e}", c.context)))),
            syncing: reached.iter().any(|(_, v)| v.syncing),
            denied: reached.iter().flat_map(|(c, v)| v.denied.iter().map(|d| format!("{}: {d}", c.context))).collect(),
            budgets: Arc::new(
                reached.iter().flat_map(|(c, v)| v.budgets.iter().map(|b| tagged_budget(b, &c.context))).collect(),
            ),
            namespace_findings: Arc::new(
                reached.iter().flat_map(|(_, v)| v.namespace_findings.iter().cloned()).collect(),
            ),
            slo_rules: first.as_ref().map(|v| v.slo_rules.clone()).unwrap_or_default(),
            discovery_notes: Arc::new(
                reached
                    .iter()
                    .flat_map(|(c, v)| v.discovery_notes.iter().map(|n| format!("{}: {n}", c.context)))
                    .collect(),
            ),
            profile,
            fleet: Some(Arc::new(FleetStatus { members, drift, drift_clusters })),
            capacity: reached
                .iter()
                .filter_map(|(c, v)| Some((Some(c.context.clone()), v.capacity.get(&None)?.clone())))
                .collect(),
        }
    }
}

/// A cluster's database budget in a fleet: named `database@cluster` (the same database name
/// in two clusters is two databases), its services' keys carrying the cluster as the
/// merged services' do.
fn tagged_budget(budget: &DatabaseBudget, context: &str) -> DatabaseBudget {
    let mut budget = budget.clone();
    budget.name = format!("{}@{context}", budget.name);
    for used in &mut budget.services {
        used.key.cluster = Some(context.to_string());
    }
    budget
}

/// The health the whole screen goes by: each kind's worst among the clusters whose
/// watches are not broken (a cluster that is down shows in its own state, it does not
/// make every other cluster's rows look stale); the worst of all when every one is.
fn merged_health(reached: &[(&Cluster, &Arc<ClusterView>)]) -> BTreeMap<ResourceKind, WatchHealth> {
    let broken = |v: &ClusterView| {
        v.health.values().any(|h| matches!(h, WatchHealth::Reconnecting { .. } | WatchHealth::Silent { .. }))
    };
    let healthy: Vec<&ClusterView> = reached.iter().map(|(_, v)| v.as_ref()).filter(|v| !broken(v)).collect();
    let from: Vec<&ClusterView> =
        if healthy.is_empty() { reached.iter().map(|(_, v)| v.as_ref()).collect() } else { healthy };
    let rank = |h: &WatchHealth| match h {
        WatchHealth::Live { .. } => 0,
        WatchHealth::NoAccess { .. } => 1,
        WatchHealth::Syncing { .. } => 2,
        WatchHealth::Silent { .. } => 3,
        WatchHealth::Reconnecting { .. } => 4,
    };
    let mut merged: BTreeMap<ResourceKind, WatchHealth> = BTreeMap::new();
    for v in from {
        for (kind, h) in &v.health {
            match merged.get(kind) {
                Some(current) if rank(current) >= rank(h) => {}
                _ => {
                    merged.insert(*kind, h.clone());
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(context: &str) -> Cluster {
        Cluster {
            context: context.into(),
            session: None,
            unreachable: None,
            retrying: false,
            tagged: None,
            copies: BTreeMap::new(),
        }
    }

    fn view_with(health: WatchHealth) -> Arc<ClusterView> {
        let mut view = (*crate::ui::app::tests_support::view(1, vec![])).clone();
        view.health = ResourceKind::ALL.into_iter().map(|k| (k, health.clone())).collect();
        Arc::new(view)
    }

    #[test]
    fn a_broken_cluster_does_not_make_the_others_look_broken() {
        let since = Timestamp::from_second(1_800_000_000).unwrap();
        let (eu, us) = (cluster("eu"), cluster("us"));
        let live = view_with(WatchHealth::Live { since });
        let down = view_with(WatchHealth::Reconnecting { since, error: "connection refused".into() });
        let merged = merged_health(&[(&eu, &live), (&us, &down)]);
        assert!(merged.values().all(|h| matches!(h, WatchHealth::Live { .. })), "{merged:?}");
        let all_down = merged_health(&[(&eu, &down), (&us, &down)]);
        assert!(all_down.values().all(|h| matches!(h, WatchHealth::Reconnecting { .. })), "{all_down:?}");
    }
}
