//! `status`: the service overview without a terminal UI. A table for people (`-o table`,
//! `-o wide`) and JSON for scripts (`-o json`, field names fixed by CLI.md). Every number
//! comes from the model's [`Service`] structs; nothing is recomputed here.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::model::age::human_age;
use crate::model::gitops::source::ServiceSource;
use crate::model::service::{ProbeKind, Service};
use crate::model::services::{NamespaceFinding, Visibility};

/// What a column shows for a kind the user may not list.
pub const NO_ACCESS: &str = "no access";

/// Everything one `status` run prints.
#[derive(Clone, Debug)]
pub struct StatusReport<'a> {
    pub context: &'a str,
    /// In display order (see `model::services::problems_first`).
    pub services: &'a [Service],
    pub namespace_findings: &'a [NamespaceFinding],
    pub visibility: Visibility,
    /// Missing permissions, as the watches reported them (`list poddisruptionbudgets in ns x`).
    pub no_access: &'a [String],
    pub now: Timestamp,
}

const HEADER: [&str; 11] =
    ["NAMESPACE", "SERVICE", "KIND", "READY", "UP-TO-DATE", "AVAILABLE", "HPA", "ROLLOUT", "PROBES", "PDB", "AGE"];
const WIDE_HEADER: [&str; 5] = ["REVISION", "RESTARTS", "FLAPPING", "BUDGET", "FINDINGS"];

/// The table, kubectl style: left-aligned columns three spaces apart, one row per service,
/// then namespace findings as `namespace: message` lines, then the summary line.
pub fn table(report: &StatusReport<'_>, wide: bool) -> String {
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(report.services.len() + 1);
    let mut header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    if wide {
        header.extend(WIDE_HEADER.iter().map(|h| h.to_string()));
    }
    rows.push(header);
    rows.extend(report.services.iter().map(|s| row(s, report, wide)));
    let mut out = align(&rows);
    for nf in report.namespace_findings {
        out.push_str(&format!("{}: {} [{}]\n", nf.namespace, nf.finding.message, nf.finding.id));
    }
    for (owner, services) in crate::model::services::gitops_suspended(report.services) {
        out.push_str(&format!(
            "suspended: {owner} (applies {}): manual changes stick until it resumes\n",
            services.join(", ")
        ));
    }
    out.push_str(&summary_line(report.services));
    out
}

/// How many services are shown and how many have something wrong now (design advice is
/// preflight and not counted): what the overview's header says.
pub fn with_problems(services: &[Service]) -> usize {
    services.iter().filter(|s| s.has_problems()).count()
}

/// `12 services · 3 with problems`.
fn summary_line(services: &[Service]) -> String {
    let plural = if services.len() == 1 { "" } else { "s" };
    format!("{} service{plural} · {} with problems\n", services.len(), with_problems(services))
}

fn row(s: &Service, report: &StatusReport<'_>, wide: bool) -> Vec<String> {
    let v = report.visibility;
    let r = s.replicas;
    let hpa = match &s.hpa {
        _ if !v.hpas => NO_ACCESS.to_string(),
        Some(h) => format!("{}-{} ({})", h.min, h.max, h.current),
        None => "-".to_string(),
    };
    let pdb = match &s.pdb {
        _ if !v.pdbs => NO_ACCESS.to_string(),
        Some(p) => format!("{}/{}", p.disruptions_allowed, p.current_healthy),
        None => "-".to_string(),
    };
    let mut cells = vec![
        s.key.namespace.clone(),
        s.key.name.clone(),
        s.key.kind.short().to_string(),
        format!("{}/{}", r.ready, r.desired),
        r.updated.to_string(),
        r.available.to_string(),
        hpa,
        s.rollout.state.as_str().to_string(),
        probe_letters(s),
        pdb,
        s.created.map_or_else(|| "-".to_string(), |c| human_age(c, report.now)),
    ];
    if wide {
        let pods = |n: String| if v.pods { n } else { NO_ACCESS.to_string() };
        cells.push(s.rollout.revision.map_or_else(|| "-".to_string(), |r| r.to_string()));
        cells.push(pods(s.pods_summary.restarts.to_string()));
        cells.push(pods(s.pods_summary.flapping.to_string()));
        cells.push(s.budget.as_ref().map_or_else(|| "-".to_string(), |b| format!("{}:{}", b.database, b.short())));
        let ids: Vec<&str> = s.findings.iter().map(|f| f.id).collect();
        cells.push(if ids.is_empty() { "-".to_string() } else { ids.join(",") });
    }
    cells
}

/// One cluster of a fleet as `status` reports it: live (its server) or why not.
#[derive(Clone, Debug)]
pub struct ClusterState {
    pub context: String,
    pub server_url: Option<String>,
    /// Why the cluster could not be talked to (unreachable, unauthorized, timeout).
    pub error: Option<String>,
    /// The permission that hides every workload (neither Deployments nor StatefulSets
    /// may be listed): the cluster answers, but shows this user nothing.
    pub no_access: Option<String>,
}

impl ClusterState {
    /// `live`, `no access` or `unreachable`.
    pub fn state(&self) -> &'static str {
        match (&self.error, &self.no_access) {
            (Some(_), _) => "unreachable",
            (None, Some(_)) => "no access",
            (None, None) => "live",
        }
    }
}

/// `status` over several clusters: each cluster's state, and a report per reachable one.
#[derive(Clone, Debug)]
pub struct FleetReport<'a> {
    pub clusters: &'a [ClusterState],
    pub reports: &'a [StatusReport<'a>],
}

/// The table of a fleet: a CLUSTER column first, each cluster's services in its own
/// order, namespace findings as `cluster namespace: message`, one line per unreachable
/// cluster, and the summary over all of them.
pub fn fleet_table(fleet: &FleetReport<'_>, wide: bool) -> String {
    let mut header: Vec<String> = std::iter::once("CLUSTER").chain(HEADER).map(str::to_string).collect();
    if wide {
        header.extend(WIDE_HEADER.iter().map(|h| h.to_string()));
    }
    let mut rows = vec![header];
    for report in fleet.reports {
        for s in report.services {
            let mut cells = vec![report.context.to_string()];
            cells.extend(row(s, report, wide));
            rows.push(cells);
        }
    }
    let mut out = align(&rows);
    for report in fleet.reports {
        for nf in report.namespace_findings {
            out.push_str(&format!("{} {}: {} [{}]\n", report.context, nf.namespace, nf.finding.message, nf.finding.id));
        }
    }
    for c in fleet.clusters {
        if let Some(error) = &c.error {
            out.push_str(&format!("{}: unreachable: {error}\n", c.context));
        } else if let Some(permission) = &c.no_access {
            out.push_str(&format!("{}: no access: {permission}\n", c.context));
        }
    }
    let services: Vec<&Service> = fleet.reports.iter().flat_map(|r| r.services.iter()).collect();
    let problems = services.iter().filter(|s| s.has_problems()).count();
    let plural = if services.len() == 1 { "" } else { "s" };
    let live = fleet.clusters.iter().filter(|c| c.error.is_none()).count();
    out.push_str(&format!(
        "{} service{plural} · {problems} with problems · {live} of {} clusters live\n",
        services.len(),
        fleet.clusters.len()
    ));
    out
}

/// The JSON of a fleet: `status -o json`'s shape with `cluster` on every service (and
/// namespace finding), `context` the contexts joined with commas, and `clusters`: each
/// one's `state` (`live` or `unreachable`), server and error.
pub fn fleet_json(fleet: &FleetReport<'_>) -> Value {
    let mut services = Vec::new();
    let mut namespace_findings = Vec::new();
    let mut no_access = Vec::new();
    for report in fleet.reports {
        let one = json(report);
        let tag = |list: &Value, into: &mut Vec<Value>| {
            for item in list.as_array().into_iter().flatten() {
                let mut item = item.clone();
                item["cluster"] = json!(report.context);
                into.push(item);
            }
        };
        tag(&one["services"], &mut services);
        tag(&one["namespace_findings"], &mut namespace_findings);
        no_access.extend(report.no_access.iter().map(|p| json!({"cluster": report.context, "permission": p})));
    }
    let clusters: Vec<Value> = fleet
        .clusters
        .iter()
        .map(|c| {
            json!({"context": c.context, "state": c.state(), "server_url": c.server_url,
                   "error": c.error.as_ref().or(c.no_access.as_ref())})
        })
        .collect();
    let all: Vec<&Service> = fleet.reports.iter().flat_map(|r| r.services.iter()).collect();
    let with_problems = all.iter().filter(|s| s.has_problems()).count();
    let contexts: Vec<&str> = fleet.clusters.iter().map(|c| c.context.as_str()).collect();
    json!({
        "context": contexts.join(","),
        "clusters": clusters,
        "services": services,
        "namespace_findings": namespace_findings,
        "no_access": no_access,
        "summary": {"services": all.len(), "with_problems": with_problems},
    })
}

/// `SRL`: which of startup, readiness and liveness probes any container has (`-` for none).
pub fn probe_letters(s: &Service) -> String {
    [(ProbeKind::Startup, 'S'), (ProbeKind::Readiness, 'R'), (ProbeKind::Liveness, 'L')]
        .iter()
        .map(|(kind, letter)| if s.probes.iter().any(|p| p.probe == *kind) { *letter } else { '-' })
        .collect()
}

fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < columns {
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `{"context": …, "services": [...]}` with CLI.md's field names; a kind the user may not
/// list makes its field `null`. Added beyond CLI.md: `namespace_findings`, `no_access`,
/// `summary` (services and how many have something wrong now) and `pdb.explanation`.
pub fn json(report: &StatusReport<'_>) -> Value {
    let services: Vec<Value> = report.services.iter().map(|s| service_json(s, report.visibility)).collect();
    let namespace_findings: Vec<Value> = report
        .namespace_findings
        .iter()
        .map(|nf| {
            json!({"namespace": nf.namespace, "id": nf.finding.id, "severity": nf.finding.severity,
                   "message": nf.finding.message})
        })
        .collect();
    json!({
        "context": report.context,
        "services": services,
        "namespace_findings": namespace_findings,
        "no_access": report.no_access,
        "summary": {"services": report.services.len(), "with_problems": with_problems(report.services)},
        "gitops_suspended": suspended_json(report.services),
    })
}

/// The suspended GitOps owners of the services shown: `[{owner, services}]`.
fn suspended_json(services: &[Service]) -> Value {
    let found = crate::model::services::gitops_suspended(services);
    json!(found.iter().map(|(owner, services)| json!({"owner": owner, "services": services})).collect::<Vec<_>>())
}

fn service_json(s: &Service, v: Visibility) -> Value {
    let pdb = match &s.pdb {
        Some(p) if v.pdbs => {
            let mut value = json!(p);
            value["explanation"] = json!(p.explanation);
            value
        }
        _ => Value::Null,
    };
    json!({
        "namespace": s.key.namespace,
        "name": s.key.name,
        "kind": s.key.kind.as_str(),
        "replicas": s.replicas,
        "hpa": if v.hpas { json!(s.hpa) } else { Value::Null },
        "rollout": s.rollout,
        "probes": s.probes,
        "pods": if v.pods { json!(s.pods_summary) } else { Value::Null },
        "pdb": pdb,
        "budget": s.budget,
        "slo": Value::Null,
        "findings": s.findings,
        "preflight": s.preflight,
        "helm": helm_json(s),
        "gitops": gitops_json(s),
    })
}

/// The GitOps owner: `{kind, namespace, name, ready, suspended, revision, interval,
/// message, state, drift, source}`; `ready` and the rest are null when the owner could not
/// be read; `source` (`{kind, namespace, name, ready, revision, message, state}`) is null
/// when the owner names none (Argo CD) or could not be read, and its `ready` and
/// `revision` are null when the source could not be read or was not found.
pub fn gitops_json(s: &Service) -> Value {
    let Some(g) = &s.gitops else { return Value::Null };
    let state = g.state.as_ref();
    let namespace = state.map(|o| o.namespace.clone()).or_else(|| g.owner.namespace.clone());
    let drift: Vec<Value> = g
        .drift
        .iter()
        .map(|d| json!({"field": d.field, "manager": d.manager, "operation": d.operation, "time": d.time}))
        .collect();
    json!({
        "kind": g.owner.kind.as_str(),
        "tool": g.owner.kind.tool(),
        "namespace": namespace,
        "name": g.owner.name,
        "ready": state.and_then(|o| o.ready.as_ref()).map(|c| c.status == "True"),
        "suspended": state.map(|o| o.suspended),
        "revision": state.and_then(|o| o.revision.clone()),
        "interval": state.and_then(|o| o.interval.clone()),
        "message": state.and_then(|o| o.ready.as_ref()).and_then(|c| c.message.clone().or_else(|| c.reason.clone())),
        "state": g.state().badge(),
        "drift": drift,
        "source": g.source.as_ref().map(source_json),
    })
}

fn source_json(source: &ServiceSource) -> Value {
    let found = source.found();
    json!({
        "kind": source.reference.kind.as_str(),
        "namespace": source.reference.namespace,
        "name": source.reference.name,
        "ready": found.map(|s| s.not_ready().is_none()),
        "revision": found.and_then(|s| s.revision.clone()),
        "message": found.and_then(|s| s.ready.as_ref()).and_then(|c| c.message.clone().or_else(|| c.reason.clone())),
        "url": found.and_then(|s| s.url.clone()),
        "state": source.badge(),
    })
}

/// The Helm release and its history from the release Secrets' metadata (`revisions` is
/// null when they could not be listed).
fn helm_json(s: &Service) -> Value {
    let Some(release) = &s.helm else { return Value::Null };
    let revisions = release.history.as_ref().map(|history| {
        history
            .iter()
            .map(|r| json!({"revision": r.revision, "status": r.status, "created": r.created, "modified": r.modified}))
            .collect::<Vec<_>>()
    });
    json!({
        "release": release.name,
        "namespace": release.namespace,
        "chart": release.chart,
        "app_version": release.app_version,
        "revisions": revisions,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::services::{ClusterObjects, ReadinessHistory, build};

    fn now() -> Timestamp {
        "2025-06-01T12:00:00Z".parse().unwrap()
    }

    fn world() -> Vec<Service> {
        let mut objects = ClusterObjects::default();
        objects.deployments.push(Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "api", "namespace": "honeydue", "uid": "u1", "generation": 1,
                             "creationTimestamp": "2025-06-01T11:57:00Z",
                             "annotations": {"deployment.kubernetes.io/revision": "4"}},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                         "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "api",
                            "startupProbe": {"httpGet": {"path": "/api/health/", "port": 8000}, "failureThreshold": 48, "periodSeconds": 5},
                            "readinessProbe": {"httpGet": {"path": "/api/health/", "port": 8000}}}]}}},
                "status": {"observedGeneration": 1, "replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
            }))
            .unwrap(),
        ));
        objects.pdbs.push(Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "api-pdb", "namespace": "honeydue"},
                "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "api"}}},
                "status": {"observedGeneration": 1, "currentHealthy": 2, "desiredHealthy": 2, "disruptionsAllowed": 0, "expectedPods": 3},
            }))
            .unwrap(),
        ));
        build(&objects, &ReadinessHistory::default(), now())
    }

    fn report<'a>(services: &'a [Service], visibility: Visibility) -> StatusReport<'a> {
        StatusReport { context: "demo", services, namespace_findings: &[], visibility, no_access: &[], now: now() }
    }

    #[test]
    fn table_rows_come_from_the_model() {
        let services = world();
        let text = table(&report(&services, Visibility::ALL), false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2], "1 service · 1 with problems");
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(header, HEADER);
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(cells, ["honeydue", "api", "deploy", "2/3", "3", "2", "-", "progressing", "SR-", "0/2", "3m"]);
    }

    #[test]
    fn wide_adds_revision_restarts_flapping_findings() {
        let services = world();
        let text = table(&report(&services, Visibility::ALL), true);
        let cells: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(&cells[11..15], ["4", "0", "0", "-"]);
        assert!(cells[15].contains("pods-not-ready"), "{}", cells[15]);
    }

    #[test]
    fn no_access_columns() {
        let services = world();
        let hidden = Visibility { pdbs: false, hpas: false, ..Visibility::ALL };
        let text = table(&report(&services, hidden), false);
        assert_eq!(text.lines().nth(1).unwrap().matches(NO_ACCESS).count(), 2);
        let value = json(&report(&services, hidden));
        assert!(value["services"][0]["pdb"].is_null());
        assert!(value["services"][0]["hpa"].is_null());
    }

    #[test]
    fn json_has_the_cli_md_shape() {
        let services = world();
        let value = json(&report(&services, Visibility::ALL));
        assert_eq!(value["context"], "demo");
        let s = &value["services"][0];
        for key in [
            "namespace",
            "name",
            "kind",
            "replicas",
            "hpa",
            "rollout",
            "probes",
            "pods",
            "pdb",
            "budget",
            "slo",
            "findings",
        ] {
            assert!(s.get(key).is_some(), "missing {key}");
        }
        assert_eq!(s["kind"], "Deployment");
        assert_eq!(s["replicas"], serde_json::json!({"desired": 3, "ready": 2, "updated": 3, "available": 2}));
        assert_eq!(s["rollout"]["state"], "progressing");
        assert_eq!(s["rollout"]["revision"], 4);
        assert_eq!(s["probes"][0]["probe"], "startup");
        assert_eq!(s["probes"][0]["grace_s"], 240);
        assert_eq!(s["probes"][0]["handler"], "HTTP GET /api/health/ :8000");
        assert_eq!(s["pdb"]["disruptions_allowed"], 0);
        assert_eq!(s["pdb"]["min_available"], "2");
        assert_eq!(s["pods"], serde_json::json!({"total": 0, "ready": 0, "restarts": 0, "flapping": 0}));
        assert!(s["budget"].is_null() && s["slo"].is_null());
        let finding = s["findings"].as_array().unwrap().iter().find(|f| f["id"] == "pods-not-ready").unwrap();
        assert_eq!(finding["severity"], "warning");
        assert!(finding["message"].is_string());
    }

    #[test]
    fn a_fleet_has_a_cluster_column_and_field_and_says_which_cluster_is_down() {
        let services = world();
        let eu = StatusReport { context: "eu", ..report(&services, Visibility::ALL) };
        let us = StatusReport { context: "us", ..report(&services, Visibility::ALL) };
        let clusters = [
            ClusterState { context: "eu".into(), server_url: Some("https://eu".into()), error: None, no_access: None },
            ClusterState {
                context: "us".into(),
                server_url: Some("https://us".into()),
                error: None,
                no_access: Some("list deployments in ns shop".into()),
            },
            ClusterState {
                context: "ap".into(),
                server_url: None,
                error: Some("connection refused".into()),
                no_access: None,
            },
        ];
        let reports = [eu, us];
        let fleet = FleetReport { clusters: &clusters, reports: &reports };
        let text = fleet_table(&fleet, false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("CLUSTER   NAMESPACE"), "{text}");
        assert!(lines[1].starts_with("eu ") && lines[2].starts_with("us "), "{text}");
        assert!(text.contains("ap: unreachable: connection refused"), "{text}");
        assert!(text.ends_with("2 services · 2 with problems · 2 of 3 clusters live\n"), "{text}");
        let value = fleet_json(&fleet);
        assert_eq!(value["context"], "eu,us,ap");
        assert_eq!(value["services"][0]["cluster"], "eu");
        assert_eq!(value["services"][1]["cluster"], "us");
        assert_eq!(value["clusters"][2]["state"], "unreachable");
        assert_eq!(value["clusters"][0]["state"], "live");
        assert_eq!(value["clusters"][1]["state"], "no access");
        assert!(text.contains("us: no access: list deployments in ns shop"), "{text}");
    }

    /// Three healthy replicas with no PDB and no security context are advice (CHECKS), not a
    /// problem; a service with no pod ready is one.
    #[test]
    fn the_summary_counts_only_what_is_wrong_now() {
        let deployment = |name: &str, ready: i32| {
            serde_json::json!({
                "metadata": {"name": name, "namespace": "shop", "uid": name, "generation": 1},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": name, "image": "shop:1.0.0"}]}}},
                "status": {"observedGeneration": 1, "replicas": 3, "readyReplicas": ready, "updatedReplicas": 3, "availableReplicas": ready},
            })
        };
        let mut objects = ClusterObjects::default();
        for (name, ready) in [("advised", 3), ("down", 0)] {
            objects.deployments.push(Arc::new(serde_json::from_value(deployment(name, ready)).unwrap()));
        }
        let services = build(&objects, &ReadinessHistory::default(), now());
        let advised = services.iter().find(|s| s.key.name == "advised").unwrap();
        let checks: Vec<&str> = advised.lint_findings().iter().map(|f| f.id).collect();
        assert!(checks.contains(&"no-pdb") && checks.contains(&"run-as-root"), "{checks:?}");

        let status = report(&services, Visibility::ALL);
        assert!(table(&status, false).ends_with("2 services · 1 with problems\n"));
        assert_eq!(json(&status)["summary"], serde_json::json!({"services": 2, "with_problems": 1}));
    }
}
