//! The live model against a full rebuild: after any change it must show exactly what a
//! rebuild from every object would, while touching only what the change reaches.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::model::changes::{Change, Part};
use crate::model::service::FLAPPING_WINDOW_S;
use crate::model::services::tests::{deployment, healthy, healthy_status, now, obj, pdb, pod};

/// A store of objects the way the watches hold them; it notes what reassemblies asked
/// for by name.
#[derive(Default)]
struct World(ClusterObjects, std::cell::RefCell<Vec<Wanted>>);

fn in_ns<T>(items: &[Arc<T>], ns: &str, of: impl Fn(&T) -> &str) -> Vec<Arc<T>> {
    items.iter().filter(|o| of(o) == ns).cloned().collect()
}

fn ns_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

impl Objects for World {
    fn objects_in(&self, ns: &str) -> ClusterObjects {
        let o = &self.0;
        ClusterObjects {
            deployments: in_ns(&o.deployments, ns, |d| ns_of(&d.metadata)),
            statefulsets: in_ns(&o.statefulsets, ns, |d| ns_of(&d.metadata)),
            // Facts carry no namespace; owners are matched by uid, unique in this world.
            replicasets: o.replicasets.clone(),
            pods: in_ns(&o.pods, ns, |p| &p.namespace),
            pdbs: in_ns(&o.pdbs, ns, |p| ns_of(&p.metadata)),
            hpas: in_ns(&o.hpas, ns, |h| ns_of(&h.metadata)),
            pvcs: in_ns(&o.pvcs, ns, |p| ns_of(&p.metadata)),
            events: in_ns(&o.events, ns, |e| &e.namespace),
            controller_revisions: in_ns(&o.controller_revisions, ns, |c| ns_of(&c.metadata)),
            helm_releases: in_ns(&o.helm_releases, ns, ns_of),
            ..Default::default()
        }
    }

    fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self.0.pods.iter().map(|p| p.namespace.clone()).collect();
        names.extend(self.0.deployments.iter().map(|d| ns_of(&d.metadata).to_string()));
        names.sort();
        names.dedup();
        names
    }

    fn on_nodes(&self) -> ClusterObjects {
        ClusterObjects { nodes: self.0.nodes.clone(), node_pods: self.0.pods.clone(), ..Default::default() }
    }

    fn network(&self) -> crate::model::discovery::Network {
        self.0.network.clone()
    }

    fn named(&self, ns: &str, wanted: &Wanted) -> ClusterObjects {
        self.1.borrow_mut().push(wanted.clone());
        wanted.keep_only(self.objects_in(ns))
    }
}

/// Two namespaces: `shop` with an api behind a PDB and a worker, `blog` with a web.
fn world() -> World {
    let mut o = ClusterObjects::default();
    healthy(&mut o, "shop", "api", 3);
    healthy(&mut o, "shop", "worker", 2);
    healthy(&mut o, "blog", "web", 2);
    o.pdbs.push(obj(pdb("shop", "api", "api", json!({"minAvailable": 2}))));
    World(o, Default::default())
}

fn inputs<'a>(history: &'a ReadinessHistory, profile: &'a Arc<Profile>) -> Inputs<'a> {
    Inputs { readiness: history, now: now(), visibility: Visibility::ALL, profile, scope: None }
}

/// What a rebuild from every object shows, as the session showed it before.
fn rebuilt(world: &World, history: &ReadinessHistory, profile: &Profile) -> Vec<Service> {
    rebuilt_at(world, history, profile, now())
}

fn rebuilt_at(world: &World, history: &ReadinessHistory, profile: &Profile, at: Timestamp) -> Vec<Service> {
    let mut all = world.0.clone();
    all.node_pods = all.pods.clone();
    let mut services = services::build_scope(&all, history, at, Visibility::ALL).services;
    let found = crate::model::discovery::discover(&services, &world.0.network);
    profile::apply(&mut services, profile, None, &found);
    services
}

fn plain(current: &Current) -> Vec<Service> {
    current.services.iter().map(|s| (**s).clone()).collect()
}

fn same(a: &Current, b: &Current, name: &str) -> bool {
    let find = |c: &Current| c.services.iter().find(|s| s.key.name == name).cloned().unwrap();
    Arc::ptr_eq(&find(a), &find(b))
}

/// A crash-loop Event about one pod of `shop` (named `<pod>.1`).
fn back_off(pod: &str) -> serde_json::Value {
    json!({
        "metadata": {"name": format!("{pod}.1"), "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "shop"},
        "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
        "lastTimestamp": "2025-06-01T11:59:00Z", "count": 1,
    })
}

fn set_pod(world: &mut World, ns: &str, name: &str, value: serde_json::Value) {
    let at = world.0.pods.iter().position(|p| p.namespace == ns && p.name == name).unwrap();
    world.0.pods[at] = obj(value);
}

#[test]
fn a_pod_status_update_reassembles_its_service_alone_and_runs_no_check() {
    let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    let mut world = world();
    let mut live = LiveModel::default();
    let first = live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));
    assert_eq!(live.work.namespaces, 2);
    assert_eq!(plain(&first), rebuilt(&world, &history, &profile));

    // One api pod stops being ready: a status update, as the watch classifies it.
    let before = world.0.pods.iter().find(|p| p.name == "api-h2-0").unwrap().clone();
    set_pod(&mut world, "shop", "api-h2-0", pod("shop", "api", 2, 0, false));
    let after = world.0.pods.iter().find(|p| p.name == "api-h2-0").unwrap().clone();
    assert_eq!(crate::model::pods::change_between(&before, &after), Change::Status);
    let mut changes = Changes::default();
    changes.status("shop", Part::Pod, "api-h2-0");
    let second = live.update(&world, changes, &inputs(&history, &profile));

    assert_eq!(live.work, Work { services: 1, finished: 1, ..Work::default() });
    assert!(same(&first, &second, "worker") && same(&first, &second, "web"), "untouched rows are not rebuilt");
    let api = second.services.iter().find(|s| s.key.name == "api").unwrap();
    assert_eq!(api.pods_summary.ready, 2);
    assert_eq!(plain(&second), rebuilt(&world, &history, &profile), "the same as a rebuild from every object");
    // Read by name: the api's pods, none of the worker's beside them in the namespace.
    let asked = world.1.borrow().last().cloned().unwrap();
    assert_eq!(asked.pods, ["api-h2-0", "api-h2-1", "api-h2-2"].map(String::from).into());
    assert!(asked.replicasets.iter().all(|rs| rs.starts_with("api-")), "{asked:?}");
}

#[test]
fn a_service_with_a_name_that_cannot_be_listed_is_reassembled_from_its_whole_namespace() {
    let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    let mut world = world();
    let mut odd = pod("shop", "api", 2, 0, true);
    odd["metadata"]["name"] = json!("api-h2-0\nx");
    set_pod(&mut world, "shop", "api-h2-0", odd.clone());
    let mut live = LiveModel::default();
    live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));

    let mut unready = pod("shop", "api", 2, 0, false);
    unready["metadata"]["name"] = odd["metadata"]["name"].clone();
    set_pod(&mut world, "shop", "api-h2-0\nx", unready);
    let mut changes = Changes::default();
    changes.status("shop", Part::Pod, "api-h2-0\nx");
    let second = live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!(live.work.services, 1);
    assert!(world.1.borrow().is_empty(), "nothing asked by name");
    assert_eq!(plain(&second), rebuilt(&world, &history, &profile));
}

#[test]
fn an_event_going_reassembles_the_service_that_showed_it_alone() {
    let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    let mut world = world();
    world.0.events.push(obj(back_off("worker-h2-0")));
    let mut live = LiveModel::default();
    let first = live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));
    assert!(first.services.iter().any(|s| s.key.name == "worker" && !s.events.is_empty()));

    // The API server deletes it an hour on: a status change of the Event, as the watch records it.
    world.0.events.clear();
    let mut changes = Changes::default();
    changes.status("shop", Part::Event, "worker-h2-0.1");
    let second = live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!(live.work, Work { services: 1, finished: 1, ..Work::default() });
    assert!(same(&first, &second, "api") && same(&first, &second, "web"));
    assert_eq!(plain(&second), rebuilt(&world, &history, &profile), "the row no longer shows it");

    // An Event about no service's object reaches none.
    world.0.events.push(obj(json!({
        "metadata": {"name": "node-1.1", "namespace": "shop"},
        "involvedObject": {"kind": "Node", "name": "node-1"},
        "reason": "NodeReady", "message": "ready", "type": "Normal",
        "lastTimestamp": "2025-06-01T11:59:00Z", "count": 1,
    })));
    let mut changes = Changes::default();
    changes.status("shop", Part::Event, "node-1.1");
    let third = live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!(live.work.services, 0);
    assert!(["api", "worker", "web"].iter().all(|n| same(&second, &third, n)));
}

#[test]
fn a_spec_change_rebuilds_its_namespace_and_nothing_else() {
    let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    let mut world = world();
    let mut live = LiveModel::default();
    let first = live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));

    let at = world.0.deployments.iter().position(|d| d.metadata.name.as_deref() == Some("worker")).unwrap();
    world.0.deployments[at] = obj(deployment("shop", "worker", 5, healthy_status(2)));
    let mut changes = Changes::default();
    changes.namespace("shop");
    let second = live.update(&world, changes, &inputs(&history, &profile));

    assert_eq!((live.work.namespaces, live.work.checked), (1, 2), "shop's two services, checked again");
    assert!(same(&first, &second, "web"), "blog is untouched");
    assert_eq!(plain(&second), rebuilt(&world, &history, &profile));
}

#[test]
fn nothing_changed_rebuilds_nothing_and_keeps_every_row() {
    let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    let world = world();
    let mut live = LiveModel::default();
    let first = live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));
    let second = live.update(&world, Changes::default(), &inputs(&history, &profile));
    assert_eq!(live.work, Work::default());
    assert!(["api", "worker", "web"].iter().all(|n| same(&first, &second, n)));
}

#[test]
fn under_steady_change_the_clock_reassembles_only_rows_that_read_it_one_namespace_at_a_time() {
    let (mut history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    // An api pod flapped nine minutes and fifty seconds ago: inside the window now, out of it
    // once REFRESH_AFTER has passed.
    history.record("shop", "api-h2-0", now() - jiff::SignedDuration::from_secs(FLAPPING_WINDOW_S - 10));
    let world = world();
    let mut live = LiveModel::default();
    let first = live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));
    let api_first = first.services.iter().find(|s| s.key.name == "api").unwrap();
    assert_eq!(api_first.pods.iter().map(|p| p.flaps).sum::<usize>(), 1);

    let at = now() + REFRESH_AFTER;
    let later = Inputs { now: at, ..inputs(&history, &profile) };
    let second = live.update(&world, Changes::default(), &later);
    assert_eq!(live.work, Work { finished: 0, ..Work::default() }, "blog first: nothing there reads the clock");
    let third = live.update(&world, Changes::default(), &later);
    assert_eq!(live.work, Work { services: 1, finished: 1, ..Work::default() }, "then shop: the api alone");
    assert!(same(&second, &third, "worker"), "a row that does not read the clock is kept");
    assert_eq!(plain(&third), rebuilt_at(&world, &history, &profile, at), "the same as a rebuild then");
    let api = third.services.iter().find(|s| s.key.name == "api").unwrap();
    assert_eq!(api.pods.iter().map(|p| p.flaps).sum::<usize>(), 0, "the flap left the window");
    live.update(&world, Changes::default(), &later);
    assert_eq!(live.work, Work::default(), "both are fresh");
}

#[test]
fn the_nodes_capacity_moving_changes_the_room_a_scale_up_has_and_no_row() {
    let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    let mut world = world();
    let mut api = crate::model::services::tests::deployment("shop", "api", 3, healthy_status(3));
    api["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": "500m", "memory": "256Mi"}});
    let at = world.0.deployments.iter().position(|d| d.metadata.name.as_deref() == Some("api")).unwrap();
    world.0.deployments[at] = obj(api);
    let node = |name: &str, cpu: &str| {
        obj(json!({"metadata": {"name": name}, "status": {"allocatable": {"cpu": cpu, "memory": "8Gi"}}}))
    };
    world.0.nodes.push(node("k3s-node-1", "4"));
    let mut live = LiveModel::default();
    let first = live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));
    assert_eq!(plain(&first), rebuilt(&world, &history, &profile));

    // A second node joins: more room for the api, whose pods request cpu; none for the
    // others, which request nothing.
    world.0.nodes.push(node("k3s-node-2", "2"));
    let mut changes = Changes::default();
    changes.capacity();
    let second = live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!(live.work, Work::default(), "nothing is built, finished or summed again");
    assert!(["api", "worker", "web"].iter().all(|n| same(&first, &second, n)), "every row is the same");
    let room = |c: &Current| {
        let api = c.services.iter().find(|s| s.key.name == "api").unwrap();
        crate::model::capacity::room_for(&c.capacity, &api.need)
    };
    assert!(matches!(room(&first), crate::model::resources::Room::Known { more_pods: 8, .. }), "{:?}", room(&first));
    assert!(matches!(room(&second), crate::model::resources::Room::Known { more_pods: 12, .. }));
    assert_eq!(plain(&second), rebuilt(&world, &history, &profile), "the same as a rebuild from every object");
    assert_eq!(*second.capacity, services::node_capacity(Visibility::ALL, &world.on_nodes()));

    // Nothing on the nodes changed: the capacity is the one read before, not read again.
    let third = live.update(&world, Changes::default(), &inputs(&history, &profile));
    assert!(Arc::ptr_eq(&second.capacity, &third.capacity));
}

#[test]
fn a_new_profile_rebuilds_everything() {
    let history = ReadinessHistory::default();
    let world = world();
    let mut live = LiveModel::default();
    live.update(&world, Changes::everything_at_start(), &inputs(&history, &Arc::new(Profile::default())));
    live.update(&world, Changes::default(), &inputs(&history, &Arc::new(Profile::default())));
    assert_eq!(live.work.namespaces, 2, "a reloaded profile may change every service");
}

#[test]
fn a_heartbeat_changes_nothing_a_readiness_flip_is_status_a_relabel_is_structure() {
    let facts = |v: serde_json::Value| -> crate::model::pods::PodFacts { serde_json::from_value(v).unwrap() };
    let base = pod("shop", "api", 2, 0, true);
    let mut heartbeat = base.clone();
    heartbeat["metadata"]["annotations"] = json!({"sim/heartbeat": "42"});
    let mut relabelled = base.clone();
    relabelled["metadata"]["labels"]["app"] = json!("other");
    let change = |v| crate::model::pods::change_between(&facts(base.clone()), &facts(v));
    assert_eq!(change(heartbeat), Change::None);
    assert_eq!(change(pod("shop", "api", 2, 0, false)), Change::Status);
    assert_eq!(change(relabelled), Change::Structure);
}

#[test]
fn a_workload_status_or_an_event_reassembles_the_service_it_is_about_alone() {
    let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    let mut world = world();
    let mut live = LiveModel::default();
    let first = live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));

    // The worker's Deployment reports one replica less ready: its status alone.
    let at = world.0.deployments.iter().position(|d| d.metadata.name.as_deref() == Some("worker")).unwrap();
    let mut status = healthy_status(2);
    status["readyReplicas"] = json!(1);
    world.0.deployments[at] = obj(deployment("shop", "worker", 2, status));
    let mut changes = Changes::default();
    changes.status("shop", Part::Workload, "worker");
    let second = live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!(live.work, Work { services: 1, finished: 1, ..Work::default() });
    assert!(same(&first, &second, "api") && same(&first, &second, "web"));
    assert_eq!(plain(&second), rebuilt(&world, &history, &profile));

    // An Event about one api pod.
    world.0.events.push(obj(back_off("api-h2-1")));
    let mut changes = Changes::default();
    changes.status("shop", Part::Event, "api-h2-1.1");
    let third = live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!(live.work, Work { services: 1, finished: 1, ..Work::default() });
    assert!(same(&second, &third, "worker") && same(&second, &third, "web"));
    assert!(third.services.iter().any(|s| s.key.name == "api" && !s.events.is_empty()));
    assert_eq!(plain(&third), rebuilt(&world, &history, &profile));
}

#[test]
fn discovery_runs_again_for_specs_and_services_never_for_a_pod_status() {
    let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
    let mut world = world();
    let mut api = deployment("shop", "api", 3, healthy_status(3));
    api["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "DATABASE_URL", "value": "postgres://app:s3cret@pg:5432/shop"}]);
    let at = world.0.deployments.iter().position(|d| d.metadata.name.as_deref() == Some("api")).unwrap();
    world.0.deployments[at] = obj(api);
    let mut pg = deployment("shop", "pg", 1, healthy_status(1));
    pg["spec"]["template"]["spec"]["containers"][0]["image"] = json!("postgres:16");
    world.0.deployments.push(obj(pg));
    let selector = [("app".to_string(), "pg".to_string())].into();
    world.0.network.services = vec![crate::model::discovery::NetService {
        namespace: "shop".into(),
        name: "pg".into(),
        selector: Some(selector),
    }];
    let mut live = LiveModel::default();
    let first = live.update(&world, Changes::everything_at_start(), &inputs(&history, &profile));
    assert_eq!(live.work.discovered, 1);
    let database =
        |c: &Current| c.services.iter().find(|s| s.key.name == "api").unwrap().budget.clone().map(|b| b.database);
    assert_eq!(database(&first).as_deref(), Some("pg"));
    assert_eq!(first.budgets[0].max_connections.source.to_string(), "PostgreSQL's default");

    let mut changes = Changes::default();
    set_pod(&mut world, "shop", "api-h2-0", pod("shop", "api", 2, 0, false));
    changes.status("shop", Part::Pod, "api-h2-0");
    let second = live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!(live.work.discovered, 0, "a pod's status says nothing about databases");
    assert_eq!(live.work.summed, 0, "nor about budgets: they are kept, not summed again");
    assert_eq!(second.budgets, first.budgets);

    // A new pod rebuilds its namespace, and still says nothing about databases.
    let mut changes = Changes::default();
    changes.namespace("shop");
    live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!((live.work.discovered, live.work.namespaces, live.work.summed), (0, 1, 1));

    // The Service goes: the host no longer resolves, and the budget says so.
    world.0.network.services.clear();
    let mut changes = Changes::default();
    changes.network();
    let third = live.update(&world, changes, &inputs(&history, &profile));
    assert_eq!((live.work.discovered, live.work.namespaces, live.work.summed), (1, 0, 1));
    let pg = third.budgets.iter().find(|b| b.name == "pg").unwrap();
    assert_eq!(pg.notes, ["no Service pg in namespace shop"]);
    assert_eq!(plain(&third), rebuilt(&world, &history, &profile));
}

#[test]
fn a_row_the_profile_leaves_as_built_is_shared_and_equals_the_finished_one() {
    let history = ReadinessHistory::default();
    let mut world = world();
    let mut api = deployment("shop", "api", 3, healthy_status(3));
    api["metadata"]["annotations"] = json!({"cockpit.dev/db": "pg"});
    let at = world.0.deployments.iter().position(|d| d.metadata.name.as_deref() == Some("api")).unwrap();
    world.0.deployments[at] = obj(api);
    let built = |profile: &Arc<Profile>| {
        let mut live = LiveModel::default();
        let current = live.update(&world, Changes::everything_at_start(), &inputs(&history, profile));
        (live, current)
    };
    let finished_in_full = |live: &LiveModel, current: &Current, profile: &Profile| {
        let bases: Vec<&Arc<Service>> = live.namespaces.values().flat_map(|n| n.services.iter()).collect();
        let mut shared = Vec::new();
        for (base, done) in bases.iter().zip(&current.services) {
            let mut finished = (***base).clone();
            profile::finish(&mut finished, &live.budgets, profile);
            assert_eq!(**done, finished, "{}", base.key.name);
            if profile::leaves_as_built(base, &live.budgets, profile) {
                assert!(Arc::ptr_eq(base, done), "{} is shared, not copied", base.key.name);
                shared.push(base.key.name.clone());
            }
        }
        shared
    };

    let plain = Arc::new(Profile::default());
    let (live, current) = built(&plain);
    assert_eq!(finished_in_full(&live, &current, &plain), ["web", "worker"], "the api uses a database");

    let ruled = Arc::new(Profile {
        lint: vec![crate::model::lint::LintRule { check: "no-pdb".into(), severity: None, services: None }],
        ..Profile::default()
    });
    let (live, current) = built(&ruled);
    assert!(finished_in_full(&live, &current, &ruled).is_empty(), "a lint rule may touch any row");
}
