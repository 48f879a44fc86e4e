//! Every check: a manifest that triggers it and a compliant one that does not.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::model::budget::{BindingDecl, BudgetRules, DatabaseDecl};
use crate::model::profile::{self, Profile};
use crate::model::service_match::parse_selector;
use crate::model::services::{ClusterObjects, ReadinessHistory, build, namespace_findings};

fn compliant() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop", "uid": "u1", "generation": 1},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "api"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {
                    "automountServiceAccountToken": false,
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 1000},
                    "containers": [{
                        "name": "api",
                        "image": "ghcr.io/shop/api:1.4.2",
                        "ports": [{"containerPort": 8080}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                        "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                                            "capabilities": {"drop": ["ALL"]}},
                        "startupProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "failureThreshold": 30, "periodSeconds": 2},
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
                }
            }
        },
        "status": {"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3, "observedGeneration": 1}
    })
}

fn pdb(name: &str, spec: Value) -> Value {
    json!({"metadata": {"name": name, "namespace": "shop"}, "spec": spec})
}

struct World {
    deployment: Value,
    pdbs: Vec<Value>,
    pvcs: Vec<Value>,
    hpas: Vec<Value>,
}

impl World {
    fn new() -> World {
        World {
            deployment: compliant(),
            pdbs: vec![pdb("api", json!({"maxUnavailable": 1, "selector": {"matchLabels": {"app": "api"}}}))],
            pvcs: vec![],
            hpas: vec![],
        }
    }

    fn with(mut self, pointer: &str, value: Value) -> World {
        set(&mut self.deployment, pointer, value);
        self
    }

    fn objects(&self) -> ClusterObjects {
        ClusterObjects {
            deployments: vec![Arc::new(serde_json::from_value(self.deployment.clone()).unwrap())],
            pdbs: self.pdbs.iter().map(|p| Arc::new(serde_json::from_value(p.clone()).unwrap())).collect(),
            pvcs: self.pvcs.iter().map(|p| Arc::new(serde_json::from_value(p.clone()).unwrap())).collect(),
            hpas: self.hpas.iter().map(|h| Arc::new(serde_json::from_value(h.clone()).unwrap())).collect(),
            ..Default::default()
        }
    }

    fn services(&self, profile: &Profile) -> Vec<Service> {
        let mut services = build(&self.objects(), &ReadinessHistory::default(), Timestamp::now());
        profile::apply(&mut services, profile, None, &Default::default());
        services
    }

    /// The preflight findings of the one service, by id.
    fn checks(&self) -> Vec<&'static str> {
        self.checks_with(&Profile::default())
    }

    fn checks_with(&self, profile: &Profile) -> Vec<&'static str> {
        let services = self.services(profile);
        let mut ids: Vec<&str> = services[0].lint_findings().iter().map(|f| f.id).collect();
        ids.extend(namespace_findings(&self.objects()).iter().map(|nf| nf.finding.id));
        ids.sort();
        ids
    }
}

/// Sets `value` at a JSON pointer, creating objects on the way.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let mut at = doc;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for part in &parts[..parts.len() - 1] {
        at = match part.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => {
                if at.get(*part).is_none() {
                    at[*part] = json!({});
                }
                &mut at[*part]
            }
        };
    }
    let last = parts[parts.len() - 1];
    if value.is_null() {
        if let Some(o) = at.as_object_mut() {
            o.remove(last);
        }
    } else {
        at[last] = value;
    }
}

const C: &str = "/spec/template/spec/containers/0";
const POD: &str = "/spec/template/spec";

fn triggers(world: World, id: &str) {
    let found = world.checks();
    assert!(found.contains(&id), "{id} expected in {found:?}");
}

#[test]
fn the_compliant_manifest_is_clean() {
    assert_eq!(World::new().checks(), Vec::<&str>::new());
}

#[test]
fn image_unpinned() {
    for image in [
        "ghcr.io/shop/api:latest",
        "ghcr.io/shop/api",
        "ghcr.io/shop/api:1.4",
        "api:stable",
        "api:v2",
        "api:main",
        "redis:7-alpine",
    ] {
        triggers(World::new().with(&format!("{C}/image"), json!(image)), "image-unpinned");
    }
    for image in [
        "api:1.4.2",
        "registry:5000/api:2.0.1",
        "api@sha256:0123abcd",
        "api:237c6b8",
        "api:unified-2026-01-01",
        "redis:7.2.4-alpine",
    ] {
        assert_eq!(sliding_tag(image), None, "{image} is pinned");
    }
}

#[test]
fn rwo_replicas() {
    let rwo = |w: World| {
        let mut w = w
            .with(&format!("{POD}/volumes"), json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]));
        w.pvcs.push(
            json!({"metadata": {"name": "data", "namespace": "shop"}, "spec": {"accessModes": ["ReadWriteOnce"]}}),
        );
        w
    };
    triggers(rwo(World::new()), "rwo-replicas");
    let single = rwo(World::new().with("/spec/replicas", json!(1)));
    assert!(!single.checks().contains(&"rwo-replicas"), "{:?}", single.checks());
    let mut scaled_by_hpa = rwo(World::new().with("/spec/replicas", json!(1)));
    scaled_by_hpa.hpas.push(hpa(3));
    triggers(scaled_by_hpa, "rwo-replicas");
}

/// One replica is enough: the surge pod may land on another node, where the claim the old
/// pod holds cannot attach.
#[test]
fn rwo_rolling_update() {
    let one_rwo_replica = |strategy: Value| {
        let mut w = World::new()
            .with("/spec/replicas", json!(1))
            .with("/spec/strategy", strategy)
            .with(&format!("{POD}/volumes"), json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]));
        w.pvcs.push(
            json!({"metadata": {"name": "data", "namespace": "shop"}, "spec": {"accessModes": ["ReadWriteOnce"]}}),
        );
        w.checks()
    };
    let default_strategy = one_rwo_replica(Value::Null);
    assert!(default_strategy.contains(&RWO_ROLLING_UPDATE), "default 25 % surge: {default_strategy:?}");
    let recreate = one_rwo_replica(json!({"type": "Recreate"}));
    assert!(!recreate.contains(&RWO_ROLLING_UPDATE), "Recreate: {recreate:?}");
    let no_surge =
        one_rwo_replica(json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}));
    assert!(!no_surge.contains(&RWO_ROLLING_UPDATE), "maxSurge 0: {no_surge:?}");
    assert_eq!(check(RWO_ROLLING_UPDATE).unwrap().fix, "strategy: Recreate, or a StatefulSet");

    let spec: PodSpec = serde_json::from_value(json!({"containers": [{"name": "db", "image": "db:1.2.3"}]})).unwrap();
    let statefulset = WorkloadFacts {
        kind: WorkloadKind::StatefulSet,
        replicas: 1,
        hpa_max: None,
        pod_spec: Some(&spec),
        max_unavailable: None,
        rolling: true,
        surges: false,
        shared_rwo_claim: Some("PVC data (ReadWriteOnce)".into()),
        gitops: None,
        owner: None,
        declared_replicas: None,
    };
    let found: Vec<&str> = workload_checks(&statefulset).iter().map(|f| f.id).collect();
    assert!(!found.contains(&RWO_ROLLING_UPDATE), "a StatefulSet replaces its pod in place: {found:?}");
}

/// Three healthy replicas without a PDB or a security context: advice for CHECKS, not a
/// problem now; the same manifest with no pod ready is one.
#[test]
fn design_advice_is_not_a_problem_now() {
    let mut advised = World::new().with(&format!("{POD}/securityContext"), Value::Null);
    advised.pdbs.clear();
    let found = advised.checks();
    assert!(found.contains(&"no-pdb") && found.contains(&"run-as-root"), "{found:?}");
    let healthy = &advised.services(&Profile::default())[0];
    assert!(!healthy.has_problems(), "{:?}", healthy.findings);
    assert_eq!(healthy.severity(), None);

    let down = advised.with("/status/readyReplicas", json!(0));
    let broken = &down.services(&Profile::default())[0];
    assert!(broken.has_problems());
    assert_eq!(broken.live_findings().map(|f| f.id).collect::<Vec<_>>(), ["pods-not-ready"]);
}

/// What a PDB's status says now counts: a budget allowing no eviction makes drains wait.
#[test]
fn a_pdb_allowing_no_disruption_now_is_a_problem() {
    let mut world = World::new();
    world.pdbs = vec![json!({"metadata": {"name": "api", "namespace": "shop"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "api"}}},
        "status": {"observedGeneration": 1, "currentHealthy": 3, "desiredHealthy": 3, "disruptionsAllowed": 0, "expectedPods": 3}})];
    let s = &world.services(&Profile::default())[0];
    assert_eq!(s.live_findings().map(|f| f.id).collect::<Vec<_>>(), ["pdb-allows-no-disruption"]);
    assert!(s.has_problems());
}

/// A followed SLO gate at warn or fail is wrong now; passing, or not followed, is not.
#[test]
fn an_slo_gate_at_warn_or_fail_is_a_problem_now() {
    use crate::model::slo::GateState;
    let s = &Service::example("shop", "api", 3);
    assert!(!s.has_problems_with(None) && !s.has_problems_with(Some(GateState::Pass)));
    assert_eq!(s.severity_with(Some(GateState::Warn)), Some(Severity::Warning));
    assert_eq!(s.severity_with(Some(GateState::Fail)), Some(Severity::Error));
    assert!(s.has_problems_with(Some(GateState::Fail)));
}

fn hpa(max: i32) -> Value {
    json!({"metadata": {"name": "api", "namespace": "shop"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "maxReplicas": max}})
}

#[test]
fn disruption_budgets() {
    let mut none = World::new();
    none.pdbs.clear();
    triggers(none, "no-pdb");
    let mut single = World::new().with("/spec/replicas", json!(1));
    single.pdbs.clear();
    assert!(!single.checks().contains(&"no-pdb"));

    let mut blocking = World::new();
    blocking.pdbs = vec![pdb("api", json!({"minAvailable": 3, "selector": {"matchLabels": {"app": "api"}}}))];
    triggers(blocking, "pdb-blocks-disruptions");

    let mut two = World::new();
    two.pdbs.push(pdb("api-2", json!({"maxUnavailable": 1, "selector": {"matchLabels": {"app": "api"}}})));
    triggers(two, "pdb-overlap");

    let mut typo = World::new();
    typo.pdbs.push(pdb("apii", json!({"maxUnavailable": 1, "selector": {"matchLabels": {"app": "apii"}}})));
    triggers(typo, "pdb-selects-nothing");
}

#[test]
fn max_unavailable() {
    triggers(World::new().with("/spec/strategy/rollingUpdate/maxUnavailable", json!(1)), "max-unavailable");
    // The default 25 % is one pod of four, none of three.
    let default = |replicas| World::new().with("/spec/strategy", Value::Null).with("/spec/replicas", json!(replicas));
    triggers(default(4), "max-unavailable");
    assert!(!default(3).checks().contains(&"max-unavailable"));
    assert_eq!(max_unavailable_pods(Some(&IntOrString::String("50%".into())), 5), 2);
}

#[test]
fn huge_replica_counts_and_percentages_clamp_instead_of_wrapping() {
    let percent = |p: &str, replicas| max_unavailable_pods(Some(&IntOrString::String(p.into())), replicas);
    assert_eq!(percent("5000000%", 1_000_000), i32::MAX);
    assert_eq!(percent("-5000000%", 1_000_000), i32::MIN);
    assert_eq!(max_unavailable_pods(None, i32::MAX), 536_870_911);
}

#[test]
fn probes() {
    triggers(World::new().with(&format!("{C}/readinessProbe"), Value::Null), "no-readiness-probe");
    let slow = World::new()
        .with(&format!("{C}/startupProbe"), Value::Null)
        .with(&format!("{C}/livenessProbe/initialDelaySeconds"), json!(90));
    triggers(slow, "liveness-without-startup");
    let cut_short = World::new()
        .with(&format!("{C}/startupProbe"), Value::Null)
        .with(&format!("{C}/readinessProbe/initialDelaySeconds"), json!(60));
    triggers(cut_short, "liveness-without-startup");
    let fast = World::new().with(&format!("{C}/startupProbe"), Value::Null);
    assert!(!fast.checks().contains(&"liveness-without-startup"), "a fast start needs no startup probe");
    let same =
        World::new().with(&format!("{C}/readinessProbe"), json!({"httpGet": {"path": "/healthz", "port": 8080}}));
    let found = same.checks();
    assert!(found.contains(&"liveness-equals-readiness"), "{found:?}");
    let services = same.services(&Profile::default());
    let f = services[0].preflight.iter().find(|f| f.id == "liveness-equals-readiness").unwrap();
    assert_eq!(f.severity, Severity::Info);
}

#[test]
fn resources() {
    triggers(World::new().with(&format!("{C}/resources/requests"), Value::Null), "no-resource-requests");
    triggers(World::new().with(&format!("{C}/resources/requests/cpu"), Value::Null), "no-resource-requests");
    triggers(World::new().with(&format!("{C}/resources/limits"), Value::Null), "no-memory-limit");
}

#[test]
fn security_context() {
    triggers(World::new().with(&format!("{POD}/securityContext"), Value::Null), "run-as-root");
    let by_user = World::new().with(&format!("{POD}/securityContext"), json!({"runAsUser": 1000}));
    assert!(!by_user.checks().contains(&"run-as-root"), "a non-root runAsUser is enough");
    triggers(
        World::new().with(&format!("{C}/securityContext/readOnlyRootFilesystem"), Value::Null),
        "writable-root-fs",
    );
    triggers(
        World::new().with(&format!("{C}/securityContext/allowPrivilegeEscalation"), Value::Null),
        "privilege-escalation",
    );
    triggers(World::new().with(&format!("{C}/securityContext/capabilities"), Value::Null), "capabilities-not-dropped");
    triggers(World::new().with(&format!("{C}/securityContext/privileged"), json!(true)), "privileged");
    triggers(World::new().with(&format!("{POD}/automountServiceAccountToken"), Value::Null), "sa-token-automount");
    let own_account = World::new()
        .with(&format!("{POD}/automountServiceAccountToken"), Value::Null)
        .with(&format!("{POD}/serviceAccountName"), json!("api"));
    assert!(!own_account.checks().contains(&"sa-token-automount"), "its own account: it uses the API");
}

#[test]
fn empty_dir_size() {
    triggers(World::new().with(&format!("{POD}/volumes/0/emptyDir/sizeLimit"), Value::Null), "emptydir-no-size-limit");
    let memory = World::new().with(&format!("{POD}/volumes/0/emptyDir"), json!({"medium": "Memory"}));
    assert!(!memory.checks().contains(&"emptydir-no-size-limit"), "memory-backed counts against the limit");
}

#[test]
fn singletons_and_stateful_dependencies() {
    let singleton = World::new().with("/metadata/annotations", json!({"cockpit.dev/singleton": "true"}));
    triggers(singleton, "singleton-scaled");
    let alone = World::new()
        .with("/metadata/annotations", json!({"cockpit.dev/singleton": "true"}))
        .with("/spec/replicas", json!(1));
    assert!(!alone.checks().contains(&"singleton-scaled"));
    let mut by_profile = Profile::default();
    by_profile.singletons.push(profile::SingletonDecl {
        services: ServiceMatch::Named { namespace: None, name: "api".into() },
        reason: "cron".into(),
    });
    assert!(World::new().checks_with(&by_profile).contains(&"singleton-scaled"), "a profile singleton too");

    let redis = World::new().with(&format!("{C}/image"), json!("redis:7.2.4")).with("/spec/replicas", json!(1));
    triggers(redis, "single-replica-stateful");
    let api = World::new().with("/spec/replicas", json!(1));
    assert!(!api.checks().contains(&"single-replica-stateful"));
}

#[test]
fn gitops_drift() {
    let applied = json!({"spec": {"replicas": 2}}).to_string();
    let managed = |replicas| {
        World::new()
            .with("/metadata/labels", json!({"argocd.argoproj.io/instance": "shop"}))
            .with("/metadata/annotations", json!({"kubectl.kubernetes.io/last-applied-configuration": applied}))
            .with("/spec/replicas", json!(replicas))
    };
    triggers(managed(3), "gitops-drift");
    assert!(!managed(2).checks().contains(&"gitops-drift"), "as declared");
    let mut autoscaled = managed(3);
    autoscaled.hpas.push(hpa(5));
    assert!(!autoscaled.checks().contains(&"gitops-drift"), "an HPA owns the replicas");
    let unmanaged = World::new()
        .with("/metadata/annotations", json!({"kubectl.kubernetes.io/last-applied-configuration": applied}));
    assert!(!unmanaged.checks().contains(&"gitops-drift"), "no GitOps controller to revert it");
}

#[test]
fn connection_budget_at_hpa_max() {
    let mut w = World::new();
    w.hpas.push(hpa(10));
    let profile = |max_connections| Profile {
        budget: BudgetRules {
            databases: vec![DatabaseDecl {
                name: "pg".into(),
                max_connections: Some(max_connections),
                reserved: Some(3),
                headroom: Some(10),
                ..Default::default()
            }],
            bindings: vec![BindingDecl {
                database: "pg".into(),
                services: ServiceMatch::Named { namespace: None, name: "api".into() },
                pool: Some(10),
                overflow: Some(5),
                extra_per_pod: None,
                url_env: None,
                application_name: None,
            }],
        },
        ..Default::default()
    };
    // 10 x 15 = 150 over 97 usable; under 197.
    assert!(w.checks_with(&profile(100)).contains(&"budget-at-hpa-max"));
    assert!(!w.checks_with(&profile(200)).contains(&"budget-at-hpa-max"));
}

#[test]
fn the_profile_switches_checks_off_or_changes_their_severity() {
    let w = World::new()
        .with(&format!("{C}/image"), json!("api:latest"))
        .with(&format!("{C}/resources/limits"), Value::Null);
    let rule = |check: &str, severity, services| LintRule { check: check.into(), severity, services };
    let profile = Profile {
        lint: vec![
            rule("image-unpinned", None, None),
            rule(
                "no-memory-limit",
                Some(Severity::Error),
                Some(ServiceMatch::Named { namespace: Some("shop".into()), name: "api".into() }),
            ),
        ],
        ..Default::default()
    };
    let services = w.services(&profile);
    let ids: Vec<&str> = services[0].lint_findings().iter().map(|f| f.id).collect();
    assert!(!ids.contains(&"image-unpinned"), "{ids:?}");
    let limit = services[0].preflight.iter().find(|f| f.id == "no-memory-limit").unwrap();
    assert_eq!(limit.severity, Severity::Error);
    assert_eq!(services[0].preflight[0].id, "no-memory-limit", "worst first after the change");

    let elsewhere = Profile {
        lint: vec![rule(
            "image-unpinned",
            None,
            Some(ServiceMatch::Selector {
                namespace: Some("other".into()),
                requirements: parse_selector("app=api").unwrap(),
            }),
        )],
        ..Default::default()
    };
    assert!(w.checks_with(&elsewhere).contains(&"image-unpinned"), "a rule for another namespace does not apply");
}

#[test]
fn every_check_has_a_reason_and_a_fix() {
    for c in CHECKS {
        assert!(c.reason.len() > 20 && c.fix.len() > 10, "{}", c.id);
    }
    let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), CHECKS.len());
}
