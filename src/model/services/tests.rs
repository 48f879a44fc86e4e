//! The whole model over small, realistic worlds built from JSON (the seeds' services).

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;

pub(crate) fn now() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

pub(crate) fn obj<T: DeserializeOwned>(v: Value) -> Arc<T> {
    Arc::new(serde_json::from_value(v).unwrap())
}

pub(crate) fn deployment(ns: &str, name: &str, replicas: i32, status: Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "generation": 1,
                     "creationTimestamp": "2025-06-01T10:00:00Z",
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                     "name": name, "image": format!("{name}:v2"), "ports": [{"containerPort": 8000}],
                     "readinessProbe": {"httpGet": {"path": "/ready", "port": 8000}}}]}}},
        "status": status,
    })
}

pub(crate) fn healthy_status(replicas: i32) -> Value {
    json!({"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
           "updatedReplicas": replicas, "availableReplicas": replicas})
}

pub(crate) fn replicaset(ns: &str, deploy: &str, revision: i64, replicas: i32) -> Value {
    json!({
        "metadata": {"name": format!("{deploy}-rs{revision}"), "namespace": ns, "uid": format!("uid-{deploy}-rs{revision}"),
                     "labels": {"app": deploy, "pod-template-hash": format!("h{revision}")},
                     "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy,
                                          "uid": format!("uid-{deploy}"), "controller": true}]},
        "spec": {"selector": {"matchLabels": {"app": deploy}},
                 "template": {"spec": {"containers": [{"name": deploy, "image": format!("{deploy}:v{revision}")}]}}},
        "status": {"replicas": replicas},
    })
}

pub(crate) fn pod(ns: &str, deploy: &str, revision: i64, i: usize, ready: bool) -> Value {
    json!({
        "metadata": {"name": format!("{deploy}-h{revision}-{i}"), "namespace": ns,
                     "labels": {"app": deploy, "pod-template-hash": format!("h{revision}")},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{deploy}-rs{revision}"),
                                          "uid": format!("uid-{deploy}-rs{revision}"), "controller": true}]},
        "spec": {"nodeName": "k3s-node-1", "containers": [{"name": deploy}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                   "containerStatuses": [{"name": deploy, "ready": ready, "restartCount": 0, "image": "i", "imageID": ""}]},
    })
}

pub(crate) fn pdb(ns: &str, name: &str, app: &str, spec: Value) -> Value {
    let mut spec = spec;
    spec["selector"] = json!({"matchLabels": {"app": app}});
    json!({"metadata": {"name": name, "namespace": ns}, "spec": spec})
}

/// A healthy Deployment with its ReplicaSet and ready pods.
pub(crate) fn healthy(objects: &mut ClusterObjects, ns: &str, name: &str, replicas: i32) {
    objects.deployments.push(obj(deployment(ns, name, replicas, healthy_status(replicas))));
    objects.replicasets.push(obj(replicaset(ns, name, 1, 0)));
    objects.replicasets.push(obj(replicaset(ns, name, 2, replicas)));
    for i in 0..replicas as usize {
        objects.pods.push(obj(pod(ns, name, 2, i, true)));
    }
}

fn find<'a>(services: &'a [Service], name: &str) -> &'a Service {
    services.iter().find(|s| s.key.name == name).unwrap_or_else(|| panic!("no service {name}"))
}

fn ids(s: &Service) -> Vec<&'static str> {
    s.findings.iter().map(|f| f.id).collect()
}

#[test]
fn seed_api_three_replicas_min_available_two() {
    let mut objects = ClusterObjects::default();
    healthy(&mut objects, "honeydue", "api", 3);
    objects.pdbs.push(obj(pdb("honeydue", "api-pdb", "api", json!({"minAvailable": 2}))));
    let services = build(&objects, &ReadinessHistory::default(), now());
    let api = find(&services, "api");
    assert_eq!(api.replicas, Replicas { desired: 3, ready: 3, updated: 3, available: 3 });
    assert_eq!(api.pods.len(), 3);
    assert!(api.pods.iter().all(|p| p.updated && p.ready));
    let pdb = api.pdb.as_ref().unwrap();
    assert_eq!((pdb.current_healthy, pdb.desired_healthy, pdb.disruptions_allowed), (3, 2, 1));
    assert_eq!(pdb.explanation, "minAvailable 2 of 3 healthy → 1 voluntary disruption allowed");
    assert_eq!(api.rollout.state, RolloutState::Complete);
    assert_eq!(api.rollout.revision, Some(2));
    assert_eq!(api.revisions.iter().map(|r| (r.revision, r.current)).collect::<Vec<_>>(), [(2, true), (1, false)]);
    assert!(api.findings.is_empty(), "{:?}", api.findings);
    assert_eq!(api.probes.len(), 1);
}

#[test]
fn seed_singleton_worker() {
    let mut objects = ClusterObjects::default();
    healthy(&mut objects, "honeydue", "worker", 1);
    objects.pdbs.push(obj(pdb("honeydue", "worker-pdb", "worker", json!({"minAvailable": 0}))));
    let services = build(&objects, &ReadinessHistory::default(), now());
    let worker = find(&services, "worker");
    assert_eq!(worker.pdb.as_ref().unwrap().disruptions_allowed, 1);
    assert_eq!(worker.flags.singleton.as_deref(), Some("1 replica with PDB worker-pdb minAvailable 0"));
    assert_eq!(ids(worker), ["singleton"]);
}

#[test]
fn blocking_budget_missing_budget_and_overlap() {
    let mut objects = ClusterObjects::default();
    healthy(&mut objects, "app", "gitserver", 1);
    objects.pdbs.push(obj(pdb("app", "gitserver-pdb", "gitserver", json!({"minAvailable": 1}))));
    healthy(&mut objects, "app", "web", 3);
    healthy(&mut objects, "app", "api", 2);
    objects.pdbs.push(obj(pdb("app", "api-a", "api", json!({"maxUnavailable": 1}))));
    objects.pdbs.push(obj(pdb("app", "api-b", "api", json!({"minAvailable": "100%"}))));
    let services = build(&objects, &ReadinessHistory::default(), now());
    // The spec's advice (preflight) and what the budget's status says now (a problem).
    let gitserver = find(&services, "gitserver");
    assert_eq!(ids(gitserver), ["pdb-allows-no-disruption", "pdb-blocks-disruptions"]);
    assert_eq!(gitserver.live_findings().map(|f| f.id).collect::<Vec<_>>(), ["pdb-allows-no-disruption"]);
    let web = find(&services, "web");
    assert_eq!(ids(web), ["no-pdb"]);
    assert!(!web.has_problems(), "a missing PDB is design advice, not wrong now");
    let api = find(&services, "api");
    assert_eq!(ids(api), ["pdb-overlap", "pdb-allows-no-disruption", "pdb-blocks-disruptions"]);
    assert_eq!(api.pdb.as_ref().unwrap().name, "api-b", "the most restrictive budget governs");
    assert_eq!(api.findings[0].severity, Severity::Error);
}

#[test]
fn hidden_kinds_raise_no_findings() {
    let mut objects = ClusterObjects::default();
    healthy(&mut objects, "app", "web", 3);
    let visibility = Visibility { pdbs: false, ..Visibility::ALL };
    let services = build_with(&objects, &ReadinessHistory::default(), now(), visibility);
    // No finding from the hidden kind, only that it could not be read: unknown is no all-clear.
    assert_eq!(ids(find(&services, "web")), ["no-access"]);
    assert!(find(&services, "web").has_problems());
}

#[test]
fn zero_replicas() {
    let mut objects = ClusterObjects::default();
    objects.deployments.push(obj(deployment("app", "batch", 0, json!({"observedGeneration": 1}))));
    objects.pdbs.push(obj(pdb("app", "batch-pdb", "batch", json!({"maxUnavailable": "25%"}))));
    let services = build(&objects, &ReadinessHistory::default(), now());
    let batch = find(&services, "batch");
    assert_eq!(batch.replicas, Replicas::default());
    assert_eq!(batch.rollout.state, RolloutState::Complete);
    let pdb = batch.pdb.as_ref().expect("matched through the pod template");
    assert_eq!((pdb.expected_pods, pdb.disruptions_allowed), (0, 0));
    assert!(batch.findings.is_empty(), "{:?}", batch.findings);
    assert!(namespace_findings(&objects).is_empty(), "the PDB selects the workload's template");
}

#[test]
fn stalled_rollout_with_unready_new_pods_and_probe_failures() {
    let mut objects = ClusterObjects::default();
    let status = json!({"observedGeneration": 1, "replicas": 4, "readyReplicas": 3, "updatedReplicas": 1,
        "availableReplicas": 3, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]});
    let mut web = deployment("honeydue", "web", 3, status);
    web["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("3");
    objects.deployments.push(obj(web));
    objects.replicasets.push(obj(replicaset("honeydue", "web", 2, 3)));
    objects.replicasets.push(obj(replicaset("honeydue", "web", 3, 1)));
    for i in 0..3 {
        objects.pods.push(obj(pod("honeydue", "web", 2, i, true)));
    }
    objects.pods.push(obj(pod("honeydue", "web", 3, 0, false)));
    let seen = (now() - SignedDuration::from_secs(30)).to_string();
    objects.events.push(obj(json!({
        "metadata": {"name": "e1", "namespace": "honeydue"},
        "involvedObject": {"kind": "Pod", "name": "web-h3-0", "namespace": "honeydue"},
        "type": "Warning", "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 502",
        "count": 7, "lastTimestamp": seen,
    })));
    objects.events.push(obj(json!({
        "metadata": {"name": "e2", "namespace": "honeydue"},
        "involvedObject": {"kind": "Pod", "name": "other-pod", "namespace": "honeydue"},
        "type": "Warning", "reason": "Unhealthy", "message": "not ours", "lastTimestamp": seen,
    })));
    let services = build(&objects, &ReadinessHistory::default(), now());
    let web = find(&services, "web");
    assert_eq!(web.rollout.state, RolloutState::Stalled);
    assert_eq!(web.pods.iter().filter(|p| p.updated).count(), 1);
    assert_eq!(web.events.len(), 1);
    assert_eq!(web.events[0].object, "pod/web-h3-0");
    let probe = web.findings.iter().find(|f| f.id == "probe-failures").unwrap();
    assert!(probe.message.starts_with("7 probe failure(s)"), "{}", probe.message);
    assert!(probe.message.contains("statuscode: 502"));
    assert_eq!(ids(web)[0], "rollout-stalled");
    assert!(ids(web).contains(&"no-pdb"));
}

#[test]
fn probe_failures_of_a_start_that_succeeded_are_not_findings() {
    let mut objects = ClusterObjects::default();
    healthy(&mut objects, "honeydue", "api", 1);
    let mut started = pod("honeydue", "api", 2, 0, true);
    started["status"]["conditions"][0]["lastTransitionTime"] =
        json!((now() - SignedDuration::from_secs(60)).to_string());
    objects.pods = vec![obj(started)];
    objects.pdbs.push(obj(pdb("honeydue", "api-pdb", "api", json!({"minAvailable": 0}))));
    let event = |name: &str, ago: i64| {
        obj(json!({
            "metadata": {"name": name, "namespace": "honeydue"},
            "involvedObject": {"kind": "Pod", "name": "api-h2-0", "namespace": "honeydue"},
            "type": "Warning", "reason": "Unhealthy", "message": format!("Startup probe failed ({name})"),
            "count": 5, "lastTimestamp": (now() - SignedDuration::from_secs(ago)).to_string(),
        }))
    };
    objects.events.push(event("during-start", 90));
    let services = build(&objects, &ReadinessHistory::default(), now());
    assert!(!ids(find(&services, "api")).contains(&"probe-failures"));
    objects.events.push(event("after-ready", 10));
    let services = build(&objects, &ReadinessHistory::default(), now());
    let finding = find(&services, "api").findings.iter().find(|f| f.id == "probe-failures").cloned().unwrap();
    assert!(finding.message.starts_with("5 probe failure(s)"), "{}", finding.message);
    assert!(finding.message.contains("after-ready"));
}

#[test]
fn crashloop_and_flapping() {
    let mut objects = ClusterObjects::default();
    healthy(&mut objects, "app", "agg", 2);
    let mut looping = pod("app", "agg", 2, 9, false);
    looping["status"]["containerStatuses"][0]["restartCount"] = json!(6);
    looping["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
    objects.pods.push(obj(looping));
    objects.pdbs.push(obj(pdb("app", "agg", "agg", json!({"maxUnavailable": 1}))));
    let mut history = ReadinessHistory::default();
    for ago in [400, 200, 60] {
        history.record("app", "agg-h2-0", now() - SignedDuration::from_secs(ago));
    }
    let services = build(&objects, &history, now());
    let agg = find(&services, "agg");
    assert_eq!(agg.pods_summary, PodsSummary { total: 3, ready: 2, restarts: 6, flapping: 1 });
    assert_eq!(ids(agg), ["crashloop", "pods-flapping"]);
    assert!(agg.findings[0].message.contains("agg-h2-9: 6 restarts"));
}

#[test]
fn statefulset_pods_hpa_and_rwo_template() {
    let mut objects = ClusterObjects::default();
    objects.statefulsets.push(obj(json!({
        "metadata": {"name": "pg", "namespace": "sw", "uid": "uid-pg", "generation": 2,
                     "labels": {"kustomize.toolkit.fluxcd.io/name": "databases"}},
        "spec": {"replicas": 2, "serviceName": "pg", "selector": {"matchLabels": {"app": "pg"}},
                 "template": {"metadata": {"labels": {"app": "pg"}}, "spec": {"containers": [{"name": "postgres",
                     "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "app"]}}}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]},
        "status": {"observedGeneration": 2, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2,
                   "currentRevision": "pg-aaa", "updateRevision": "pg-bbb"},
    })));
    for (i, rev) in [(0, "pg-bbb"), (1, "pg-aaa")] {
        objects.pods.push(obj(json!({
            "metadata": {"name": format!("pg-{i}"), "namespace": "sw", "labels": {"app": "pg", "controller-revision-hash": rev},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "pg", "uid": "uid-pg", "controller": true}]},
            "spec": {"containers": [{"name": "postgres"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        })));
    }
    objects.hpas.push(obj(json!({
        "metadata": {"name": "pg", "namespace": "sw"},
        "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "pg"}, "minReplicas": 2, "maxReplicas": 4},
        "status": {"currentReplicas": 2, "desiredReplicas": 2},
    })));
    objects.pdbs.push(obj(pdb("sw", "pg", "pg", json!({"maxUnavailable": 1}))));
    let services = build(&objects, &ReadinessHistory::default(), now());
    let pg = find(&services, "pg");
    assert_eq!(pg.key.kind, WorkloadKind::StatefulSet);
    assert_eq!(
        pg.pods.iter().map(|p| (p.name.as_str(), p.updated)).collect::<Vec<_>>(),
        [("pg-0", true), ("pg-1", false)]
    );
    let hpa = pg.hpa.as_ref().unwrap();
    assert_eq!((hpa.min, hpa.max, hpa.current), (2, 4, 2));
    assert_eq!(pg.rollout.state, RolloutState::Progressing);
    assert_eq!(pg.flags.rwo_volume.as_deref(), Some("volumeClaimTemplate data (ReadWriteOnce)"));
    assert_eq!(pg.flags.gitops.as_deref(), Some("Flux"));
    assert_eq!(pg.probes[0].handler, "exec pg_isready -U app");
    let rwo = pg.findings.iter().find(|f| f.id == "rwo-volume").unwrap();
    assert_eq!(rwo.severity, Severity::Info, "a StatefulSet never surges");
    assert!(pg.findings.iter().any(|f| f.id == "gitops-managed" && f.message.contains("Flux Kustomization databases")));
}

#[test]
fn pods_found_by_selector_without_owner_links() {
    let mut objects = ClusterObjects::default();
    objects.deployments.push(obj(deployment("app", "web", 2, healthy_status(2))));
    for i in 0..2 {
        let mut p = pod("app", "web", 2, i, true);
        p["metadata"]["ownerReferences"] = json!([]);
        objects.pods.push(obj(p));
    }
    objects.pods.push(obj(pod("app", "other", 1, 0, true)));
    let services = build(&objects, &ReadinessHistory::default(), now());
    assert_eq!(find(&services, "web").pods.len(), 2);
}

#[test]
fn pdb_selecting_nothing_is_a_namespace_finding() {
    let mut objects = ClusterObjects::default();
    healthy(&mut objects, "app", "web", 2);
    objects.pdbs.push(obj(pdb("app", "web-pdb", "web", json!({"maxUnavailable": 1}))));
    objects.pdbs.push(obj(pdb("app", "typo-pdb", "wbe", json!({"maxUnavailable": 1}))));
    let found = namespace_findings(&objects);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].namespace, "app");
    assert_eq!(found[0].finding.id, "pdb-selects-nothing");
    assert!(found[0].finding.message.contains("typo-pdb"));
}

#[test]
fn problems_first_then_namespace_and_name() {
    let mut objects = ClusterObjects::default();
    healthy(&mut objects, "a", "quiet", 1);
    healthy(&mut objects, "b", "noisy", 3);
    let mut down = deployment("c", "down", 2, json!({"observedGeneration": 1, "replicas": 2}));
    down["metadata"]["name"] = json!("down");
    objects.deployments.push(obj(down));
    let mut services = build(&objects, &ReadinessHistory::default(), now());
    problems_first(&mut services);
    let order: Vec<_> = services.iter().map(|s| s.key.name.as_str()).collect();
    // `noisy` has no PDB: design advice, so it sorts with the healthy by namespace.
    assert_eq!(order, ["down", "quiet", "noisy"]);
}

#[test]
fn secrets_never_reach_the_model() {
    let mut objects = ClusterObjects::default();
    let mut d = deployment("sw", "statewave", 1, healthy_status(1));
    d["spec"]["template"]["spec"]["containers"][0]["env"] = json!([
        {"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "DB_URL"}}},
    ]);
    objects.deployments.push(obj(d));
    let services = build(&objects, &ReadinessHistory::default(), now());
    assert_eq!(
        find(&services, "statewave").env[0].value,
        EnvValue::FromSecret { secret: "creds".into(), key: "DB_URL".into() }
    );
}

fn controller_revision(ns: &str, owner: &str, name: &str, revision: i64, image: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": ns,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "pg",
                                          "uid": owner, "controller": true}]},
        "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": [{"name": "postgres", "image": image}]}}}},
        "revision": revision,
    })
}

#[test]
fn a_statefulsets_revisions_and_number_come_from_its_controller_revisions() {
    let mut objects = ClusterObjects::default();
    objects.statefulsets.push(obj(json!({
        "metadata": {"name": "pg", "namespace": "sw", "uid": "uid-pg", "generation": 2},
        "spec": {"replicas": 1, "serviceName": "pg", "selector": {"matchLabels": {"app": "pg"}},
                 "template": {"metadata": {"labels": {"app": "pg"}}, "spec": {"containers": [{"name": "postgres", "image": "pg:17"}]}}},
        "status": {"observedGeneration": 2, "replicas": 1, "readyReplicas": 1, "currentRevision": "pg-aaa", "updateRevision": "pg-bbb"},
    })));
    objects.controller_revisions.push(obj(controller_revision("sw", "uid-pg", "pg-aaa", 1, "pg:16")));
    objects.controller_revisions.push(obj(controller_revision("sw", "uid-pg", "pg-bbb", 2, "pg:17")));
    objects.controller_revisions.push(obj(controller_revision("sw", "uid-other", "other-ccc", 7, "x:1")));
    let services = build(&objects, &ReadinessHistory::default(), now());
    let pg = find(&services, "pg");
    assert_eq!(
        pg.revisions.iter().map(|r| (r.revision, r.current, r.images())).collect::<Vec<_>>(),
        [(2, true, vec!["pg:17"]), (1, false, vec!["pg:16"])]
    );
    assert_eq!(pg.rollout.revision, Some(2), "the update revision's number");
}

#[test]
fn the_nodes_room_for_more_pods_is_read_from_their_capacity_and_what_a_pod_needs() {
    use crate::model::resources::{Resources, Room};
    let mut objects = ClusterObjects::default();
    let mut d = deployment("app", "web", 1, healthy_status(1));
    d["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "1", "memory": "1Gi"}});
    objects.deployments.push(obj(d));
    objects.nodes.push(obj(
        json!({"metadata": {"name": "k3s-node-1"}, "status": {"allocatable": {"cpu": "4", "memory": "16Gi"}}}),
    ));
    let mut elsewhere = pod("other-ns", "db", 1, 0, true);
    elsewhere["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "2500m"}});
    objects.node_pods.push(obj(elsewhere));
    let services = build(&objects, &ReadinessHistory::default(), now());
    let room =
        |visible| crate::model::capacity::room_for(&node_capacity(visible, &objects), &find(&services, "web").need);
    assert_eq!(
        room(Visibility::ALL),
        Room::Known { per_pod: Resources { cpu_m: 1000, memory: 1 << 30 }, more_pods: 1, nodes: 1 },
        "4 cpu minus the 2.5 another namespace's pod requests"
    );
    let hidden = Visibility { nodes: false, ..Visibility::ALL };
    assert!(matches!(&room(hidden), Room::Unknown(why) if why.contains("nodes cannot be listed")));
}

#[test]
fn a_helm_managed_workload_carries_its_release_history() {
    let mut objects = ClusterObjects::default();
    let mut d = deployment("web", "docs", 1, healthy_status(1));
    d["metadata"]["labels"] = json!({"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "docs-1.4.2"});
    d["metadata"]["annotations"]["meta.helm.sh/release-name"] = json!("docs");
    d["metadata"]["annotations"]["meta.helm.sh/release-namespace"] = json!("web");
    objects.deployments.push(obj(d));
    for (version, status) in [(1, "superseded"), (2, "deployed")] {
        objects.helm_releases.push(obj(json!({
            "name": format!("sh.helm.release.v1.docs.v{version}"), "namespace": "web",
            "labels": {"name": "docs", "owner": "helm", "status": status, "version": version.to_string()},
        })));
    }
    let services = build(&objects, &ReadinessHistory::default(), now());
    let release = find(&services, "docs").helm.clone().expect("a Helm release");
    assert_eq!(release.deployed().map(|r| r.revision), Some(2));
    assert_eq!(release.history.unwrap().len(), 2);
    let hidden = Visibility { helm_releases: false, ..Visibility::ALL };
    let services = build_with(&objects, &ReadinessHistory::default(), now(), hidden);
    assert_eq!(find(&services, "docs").helm.as_ref().unwrap().history, None, "no access: unknown");
}

#[test]
fn the_problems_first_order_is_kept_while_no_service_comes_goes_or_changes_severity() {
    use crate::model::service::{Finding, Severity};
    let finding = |severity| Finding { id: "replicas-unavailable", severity, message: "down".into() };
    let service = |ns: &str, name: &str, severity: Option<Severity>| {
        let mut s = Service::example(ns, name, 2);
        s.findings.extend(severity.map(finding));
        Arc::new(s)
    };
    let mut by_key = vec![
        service("a", "api", None),
        service("a", "web", Some(Severity::Warning)),
        service("b", "db", None),
        service("b", "queue", Some(Severity::Error)),
    ];
    let expected = |by_key: &[Arc<Service>]| {
        let mut all = by_key.to_vec();
        problems_first(&mut all);
        all.iter().map(|s| s.key.name.clone()).collect::<Vec<_>>()
    };
    let names = |ordered: Vec<Arc<Service>>| ordered.iter().map(|s| s.key.name.clone()).collect::<Vec<_>>();
    let mut order = ProblemsFirst::default();
    assert_eq!(names(order.order(by_key.clone())), ["queue", "web", "api", "db"]);
    assert_eq!(order.sorts, 1);

    // A pod of the db flips unready and back: a new row, as severe as before, in its place.
    let mut db = (*by_key[2]).clone();
    db.replicas.ready = 1;
    by_key[2] = Arc::new(db);
    let ordered = order.order(by_key.clone());
    assert_eq!(order.sorts, 1, "not sorted again");
    assert!(Arc::ptr_eq(&ordered[3], &by_key[2]), "the new row took the old one's place");
    assert_eq!(names(ordered), expected(&by_key));

    // The api goes wrong: sorted again, above the healthy db.
    by_key[0] = service("a", "api", Some(Severity::Warning));
    assert_eq!(names(order.order(by_key.clone())), expected(&by_key));
    assert_eq!(order.sorts, 2);

    // A service goes: sorted again.
    by_key.remove(3);
    assert_eq!(names(order.order(by_key.clone())), expected(&by_key));
    assert_eq!(order.sorts, 3);
}
