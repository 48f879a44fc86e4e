//! Server-side printing: `meta.k8s.io/v1` Table objects with the columns and cell text a
//! real API server prints (ported from Kubernetes' `pkg/printers/internalversion`), so
//! `kubectl get` reads as on a real cluster. Columns with priority 1 are shown by
//! `-o wide` only; the server always sends them.

use serde_json::{Value, json};

use crate::sim::resources::{CustomInfo, PrinterColumn, ResourceType};

/// What each row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

struct Column {
    name: &'static str,
    kind: &'static str,
    priority: u8,
}

const fn col(name: &'static str) -> Column {
    Column { name, kind: "string", priority: 0 }
}
const fn int(name: &'static str) -> Column {
    Column { name, kind: "integer", priority: 0 }
}
const fn wide(name: &'static str) -> Column {
    Column { name, kind: "string", priority: 1 }
}

fn columns(plural: &str) -> Vec<Column> {
    match plural {
        "pods" => vec![
            col("Name"),
            col("Ready"),
            col("Status"),
            col("Restarts"),
            col("Age"),
            wide("IP"),
            wide("Node"),
            wide("Nominated Node"),
            wide("Readiness Gates"),
        ],
        "deployments" => vec![
            col("Name"),
            col("Ready"),
            int("Up-to-date"),
            int("Available"),
            col("Age"),
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        "statefulsets" => vec![col("Name"), col("Ready"), col("Age"), wide("Containers"), wide("Images")],
        "replicasets" => vec![
            col("Name"),
            int("Desired"),
            int("Current"),
            int("Ready"),
            col("Age"),
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        "daemonsets" => vec![
            col("Name"),
            int("Desired"),
            int("Current"),
            int("Ready"),
            int("Up-to-date"),
            int("Available"),
            col("Node Selector"),
            col("Age"),
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        "poddisruptionbudgets" => {
            vec![col("Name"), col("Min Available"), col("Max Unavailable"), int("Allowed Disruptions"), col("Age")]
        }
        "horizontalpodautoscalers" => vec![
            col("Name"),
            col("Reference"),
            col("Targets"),
            col("MinPods"),
            int("MaxPods"),
            int("Replicas"),
            col("Age"),
        ],
        "services" => vec![
            col("Name"),
            col("Type"),
            col("Cluster-IP"),
            col("External-IP"),
            col("Port(s)"),
            col("Age"),
            wide("Selector"),
        ],
        "endpoints" => vec![col("Name"), col("Endpoints"), col("Age")],
        "events" => vec![
            col("Last Seen"),
            col("Type"),
            col("Reason"),
            col("Object"),
            wide("Subobject"),
            wide("Source"),
            col("Message"),
            wide("First Seen"),
            Column { name: "Count", kind: "integer", priority: 1 },
            wide("Name"),
        ],
        "configmaps" => vec![col("Name"), int("Data"), col("Age")],
        "secrets" => vec![col("Name"), col("Type"), int("Data"), col("Age")],
        "persistentvolumeclaims" => vec![
            col("Name"),
            col("Status"),
            col("Volume"),
            col("Capacity"),
            col("Access Modes"),
            col("StorageClass"),
            col("VolumeAttributesClass"),
            col("Age"),
            wide("VolumeMode"),
        ],
        "nodes" => vec![
            col("Name"),
            col("Status"),
            col("Roles"),
            col("Age"),
            col("Version"),
            wide("Internal-IP"),
            wide("External-IP"),
            wide("OS-Image"),
            wide("Kernel-Version"),
            wide("Container-Runtime"),
        ],
        "namespaces" => vec![col("Name"), col("Status"), col("Age")],
        "controllerrevisions" => vec![col("Name"), col("Controller"), int("Revision"), col("Age")],
        "serviceaccounts" => vec![col("Name"), int("Secrets"), col("Age")],
        "customresourcedefinitions" => vec![col("Name"), col("Created At")],
        _ => vec![col("Name"), col("Age")],
    }
}

/// A Table of `objects`, as the API server answers `Accept: …;as=Table`.
pub fn table(
    rt: &ResourceType,
    objects: &[&Value],
    resource_version: &str,
    include: IncludeObject,
    now: jiff::Timestamp,
) -> Value {
    if let Some(custom) = rt.custom {
        return custom_table(custom, objects, resource_version, include, now);
    }
    let column_definitions: Vec<Value> = columns(rt.plural)
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.kind,
                "format": if c.name == "Name" { "name" } else { "" },
                "description": "",
                "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects.iter().map(|o| row(rt, o, include, now)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

/// The table of a custom resource: Name, then the CRD's `additionalPrinterColumns` (an
/// Age column when it declares none, as the API server defaults it); `date` columns are
/// shown as ages, missing values as null cells.
fn custom_table(
    custom: &CustomInfo,
    objects: &[&Value],
    resource_version: &str,
    include: IncludeObject,
    now: jiff::Timestamp,
) -> Value {
    let age = PrinterColumn {
        name: "Age".into(),
        kind: "date".into(),
        json_path: ".metadata.creationTimestamp".into(),
        priority: 0,
    };
    let printer: Vec<&PrinterColumn> = match custom.printer_columns.is_empty() {
        true => vec![&age],
        false => custom.printer_columns.iter().collect(),
    };
    let mut column_definitions =
        vec![json!({"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0})];
    column_definitions.extend(printer.iter().map(|c| {
        json!({"name": c.name, "type": if c.kind == "date" { "date" } else { c.kind.as_str() }, "format": "", "description": "", "priority": c.priority})
    }));
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut cells = vec![json!(str_at(o, "/metadata/name"))];
            cells.extend(printer.iter().map(|c| match crate::sim::crd::json_path(o, &c.json_path) {
                Some(Value::String(t)) if c.kind == "date" => match parse_time(t) {
                    Some(at) => json!(human_duration(now.duration_since(at))),
                    None => json!(t),
                },
                Some(v @ (Value::Object(_) | Value::Array(_))) => json!(v.to_string()),
                Some(v) => v.clone(),
                None => Value::Null,
            }));
            let mut row = json!({"cells": cells});
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => row["object"] = partial_object_metadata(o),
                IncludeObject::Object => row["object"] = (*o).clone(),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

fn row(rt: &ResourceType, obj: &Value, include: IncludeObject, now: jiff::Timestamp) -> Value {
    let mut row = json!({"cells": cells(rt.plural, obj, now)});
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => row["object"] = partial_object_metadata(obj),
        IncludeObject::Object => row["object"] = obj.clone(),
    }
    let phase = obj.pointer("/status/phase").and_then(Value::as_str);
    if rt.plural == "pods" && matches!(phase, Some("Succeeded" | "Failed")) {
        // kubectl hides completed pods without --show-all… only when told; the
        // condition tells it which rows those are.
        row["conditions"] = json!([{"type": "Completed", "status": "True", "reason": phase, "message": "The pod has completed successfully."}]);
    }
    row
}

/// The `meta.k8s.io/v1` PartialObjectMetadata form of an object.
pub fn partial_object_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

fn cells(plural: &str, o: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let name = json!(str_at(o, "/metadata/name"));
    let age = json!(age_at(o, "/metadata/creationTimestamp", now));
    match plural {
        "pods" => pod_cells(o, now),
        "deployments" => {
            let (containers, images) = containers_and_images(o);
            vec![
                name,
                json!(format!("{}/{}", int_at(o, "/status/readyReplicas"), replicas(o))),
                json!(int_at(o, "/status/updatedReplicas")),
                json!(int_at(o, "/status/availableReplicas")),
                age,
                json!(containers),
                json!(images),
                json!(format_label_selector(o.pointer("/spec/selector"))),
            ]
        }
        "statefulsets" => {
            let (containers, images) = containers_and_images(o);
            vec![
                name,
                json!(format!("{}/{}", int_at(o, "/status/readyReplicas"), replicas(o))),
                age,
                json!(containers),
                json!(images),
            ]
        }
        "replicasets" => {
            let (containers, images) = containers_and_images(o);
            vec![
                name,
                json!(replicas(o)),
                json!(int_at(o, "/status/replicas")),
                json!(int_at(o, "/status/readyReplicas")),
                age,
                json!(containers),
                json!(images),
                json!(format_label_selector(o.pointer("/spec/selector"))),
            ]
        }
        "daemonsets" => {
            let (containers, images) = containers_and_images(o);
            let node_selector = o
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object)
                .filter(|m| !m.is_empty())
                .map(|m| {
                    m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(",")
                })
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                json!(int_at(o, "/status/desiredNumberScheduled")),
                json!(int_at(o, "/status/currentNumberScheduled")),
                json!(int_at(o, "/status/numberReady")),
                json!(int_at(o, "/status/updatedNumberScheduled")),
                json!(int_at(o, "/status/numberAvailable")),
                json!(node_selector),
                age,
                json!(containers),
                json!(images),
                json!(format_label_selector(o.pointer("/spec/selector"))),
            ]
        }
        "poddisruptionbudgets" => vec![
            name,
            json!(int_or_string(o.pointer("/spec/minAvailable")).unwrap_or_else(|| "N/A".into())),
            json!(int_or_string(o.pointer("/spec/maxUnavailable")).unwrap_or_else(|| "N/A".into())),
            json!(int_at(o, "/status/disruptionsAllowed")),
            age,
        ],
        "horizontalpodautoscalers" => vec![
            name,
            json!(format!("{}/{}", str_at(o, "/spec/scaleTargetRef/kind"), str_at(o, "/spec/scaleTargetRef/name"))),
            json!(hpa_targets(o)),
            json!(o.pointer("/spec/minReplicas").and_then(Value::as_i64).map_or("<unset>".into(), |m| m.to_string())),
            json!(int_at(o, "/spec/maxReplicas")),
            json!(int_at(o, "/status/currentReplicas")),
            age,
        ],
        "services" => service_cells(o, name, age),
        "endpoints" => vec![name, json!(endpoints_text(o)), age],
        "events" => event_cells(o, now),
        "configmaps" => vec![name, json!(map_len(o, "/data") + map_len(o, "/binaryData")), age],
        "secrets" => vec![
            name,
            json!(o.pointer("/type").and_then(Value::as_str).unwrap_or("Opaque")),
            json!(map_len(o, "/data") + map_len(o, "/stringData")),
            age,
        ],
        "persistentvolumeclaims" => pvc_cells(o, name, age),
        "nodes" => node_cells(o, name, age),
        "namespaces" => vec![name, json!(o.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Active")), age],
        "controllerrevisions" => {
            let controller = o
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .and_then(|refs| refs.iter().find(|r| r.get("controller") == Some(&json!(true))))
                .map(|r| {
                    let group = str_at(r, "/apiVersion").split('/').next().unwrap_or("").to_string();
                    let kind = str_at(r, "/kind").to_lowercase();
                    let qualified =
                        if str_at(r, "/apiVersion").contains('/') { format!("{kind}.{group}") } else { kind };
                    format!("{qualified}/{}", str_at(r, "/name"))
                })
                .unwrap_or_else(|| "<none>".into());
            vec![name, json!(controller), json!(int_at(o, "/revision")), age]
        }
        "serviceaccounts" => {
            vec![name, json!(o.pointer("/secrets").and_then(Value::as_array).map_or(0, Vec::len)), age]
        }
        "customresourcedefinitions" => vec![name, json!(str_at(o, "/metadata/creationTimestamp"))],
        _ => vec![name, age],
    }
}

fn str_at<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int_at(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn replicas(o: &Value) -> i64 {
    o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
}

fn map_len(o: &Value, pointer: &str) -> usize {
    o.pointer(pointer).and_then(Value::as_object).map_or(0, |m| m.len())
}

fn int_or_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}

fn age_at(o: &Value, pointer: &str, now: jiff::Timestamp) -> String {
    match o.pointer(pointer).and_then(Value::as_str).and_then(parse_time) {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".into(),
    }
}

/// kubectl's `duration.HumanDuration`: `42s`, `5m3s`, `3h12m`, `6d2h`, `2y30d`.
pub fn human_duration(d: jiff::SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{days}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
}

/// `metav1.FormatLabelSelector`: `app=api,tier in (a,b)`, `<none>` when empty.
pub fn format_label_selector(selector: Option<&Value>) -> String {
    let Some(sel) = selector else { return "<none>".into() };
    let mut parts = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        let mut pairs: Vec<_> = labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
        pairs.sort();
        parts.extend(pairs);
    }
    for expr in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = str_at(expr, "/key");
        let values: Vec<&str> =
            expr.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        parts.push(match str_at(expr, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({})", values.join(",")),
        });
    }
    if parts.is_empty() { "<none>".into() } else { parts.join(",") }
}

fn containers_and_images(o: &Value) -> (String, String) {
    let containers = o.pointer("/spec/template/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, "/image")).collect();
    (names.join(","), images.join(","))
}

fn pod_cells(pod: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let summary = pod_summary(pod);
    let restarts = match summary.last_restart {
        Some(at) if summary.restarts != 0 => {
            format!("{} ({} ago)", summary.restarts, human_duration(now.duration_since(at)))
        }
        _ => summary.restarts.to_string(),
    };
    let ip = pod
        .pointer("/status/podIPs/0/ip")
        .or_else(|| pod.pointer("/status/podIP"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("<none>");
    let or_none = |s: &str| if s.is_empty() { "<none>".to_string() } else { s.to_string() };
    let gates = pod.pointer("/spec/readinessGates").and_then(Value::as_array).filter(|g| !g.is_empty());
    let readiness_gates = match gates {
        None => "<none>".to_string(),
        Some(gates) => {
            let conditions = pod.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            let true_count = gates
                .iter()
                .filter(|g| {
                    conditions.iter().any(|c| c.get("type") == g.get("conditionType") && str_at(c, "/status") == "True")
                })
                .count();
            format!("{true_count}/{}", gates.len())
        }
    };
    vec![
        json!(str_at(pod, "/metadata/name")),
        json!(format!("{}/{}", summary.ready, summary.total)),
        json!(summary.status),
        json!(restarts),
        json!(age_at(pod, "/metadata/creationTimestamp", now)),
        json!(ip),
        json!(or_none(str_at(pod, "/spec/nodeName"))),
        json!(or_none(str_at(pod, "/status/nominatedNodeName"))),
        json!(readiness_gates),
    ]
}

/// What `kubectl get pods` shows about a pod: ready/total containers, the STATUS word
/// and restarts, computed exactly like Kubernetes' `printPod`.
#[derive(Debug, PartialEq)]
pub struct PodSummary {
    pub ready: usize,
    pub total: usize,
    pub status: String,
    pub restarts: i64,
    pub last_restart: Option<jiff::Timestamp>,
}

fn is_restartable_init(pod: &Value, name: &str) -> bool {
    pod.pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| str_at(c, "/name") == name))
        .is_some_and(|c| str_at(c, "/restartPolicy") == "Always")
}

fn terminated_finish(status: &Value) -> Option<jiff::Timestamp> {
    status.pointer("/lastState/terminated/finishedAt").and_then(Value::as_str).and_then(parse_time)
}

pub fn pod_summary(pod: &Value) -> PodSummary {
    let arr = |p: &str| pod.pointer(p).and_then(Value::as_array).cloned().unwrap_or_default();
    let init_specs = arr("/spec/initContainers");
    let mut total = arr("/spec/containers").len();
    total += init_specs.iter().filter(|c| str_at(c, "/restartPolicy") == "Always").count();
    let phase = str_at(pod, "/status/phase");
    let mut reason = phase.to_string();
    if !str_at(pod, "/status/reason").is_empty() {
        reason = str_at(pod, "/status/reason").to_string();
    }
    let conditions = arr("/status/conditions");
    if conditions.iter().any(|c| str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated") {
        reason = "SchedulingGated".into();
    }
    let mut ready = 0;
    let mut restarts = 0i64;
    let mut last_restart: Option<jiff::Timestamp> = None;
    let mut sidecar_restarts = 0i64;
    let mut sidecar_last: Option<jiff::Timestamp> = None;
    let mut initializing = false;
    let init_statuses = arr("/status/initContainerStatuses");
    for (i, c) in init_statuses.iter().enumerate() {
        let count = int_at(c, "/restartCount");
        restarts += count;
        let finished = terminated_finish(c);
        if finished > last_restart {
            last_restart = finished;
        }
        let name = str_at(c, "/name");
        let restartable = is_restartable_init(pod, name);
        if restartable {
            sidecar_restarts += count;
            if finished > sidecar_last {
                sidecar_last = finished;
            }
        }
        let terminated = c.pointer("/state/terminated");
        let waiting_reason = str_at(c, "/state/waiting/reason");
        if terminated.is_some_and(|t| int_at(t, "/exitCode") == 0) {
            continue;
        }
        if restartable && c.get("started") == Some(&json!(true)) {
            if c.get("ready") == Some(&json!(true)) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = if !str_at(t, "/reason").is_empty() {
                format!("Init:{}", str_at(t, "/reason"))
            } else if int_at(t, "/signal") != 0 {
                format!("Init:Signal:{}", int_at(t, "/signal"))
            } else {
                format!("Init:ExitCode:{}", int_at(t, "/exitCode"))
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }
    let initialized = conditions.iter().any(|c| str_at(c, "/type") == "Initialized" && str_at(c, "/status") == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = sidecar_last;
        let mut has_running = false;
        for c in arr("/status/containerStatuses").iter().rev() {
            restarts += int_at(c, "/restartCount");
            let finished = terminated_finish(c);
            if finished > last_restart {
                last_restart = finished;
            }
            let waiting_reason = str_at(c, "/state/waiting/reason");
            let terminated = c.pointer("/state/terminated");
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = if !str_at(t, "/reason").is_empty() {
                    str_at(t, "/reason").to_string()
                } else if int_at(t, "/signal") != 0 {
                    format!("Signal:{}", int_at(t, "/signal"))
                } else {
                    format!("ExitCode:{}", int_at(t, "/exitCode"))
                };
            } else if c.get("ready") == Some(&json!(true)) && c.pointer("/state/running").is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = conditions.iter().any(|c| str_at(c, "/type") == "Ready" && str_at(c, "/status") == "True");
            reason = if pod_ready { "Running".into() } else { "NotReady".into() };
        }
    }
    let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
    if deleting && str_at(pod, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && !matches!(phase, "Succeeded" | "Failed") {
        reason = "Terminating".into();
    }
    PodSummary { ready, total, status: reason, restarts, last_restart }
}

fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let kind = o.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
    let cluster_ip = o.pointer("/spec/clusterIP").and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or("<none>");
    let mut external: Vec<String> = o
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect();
    let external_ip = match kind {
        "ExternalName" => str_at(o, "/spec/externalName").to_string(),
        "LoadBalancer" => {
            let ingress =
                o.pointer("/status/loadBalancer/ingress").and_then(Value::as_array).cloned().unwrap_or_default();
            external.extend(ingress.iter().map(|i| {
                let ip = str_at(i, "/ip");
                if ip.is_empty() { str_at(i, "/hostname").to_string() } else { ip.to_string() }
            }));
            if external.is_empty() { "<pending>".into() } else { external.join(",") }
        }
        _ if external.is_empty() => "<none>".into(),
        _ => external.join(","),
    };
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(node_port) => format!("{}:{node_port}/{protocol}", int_at(p, "/port")),
                None => format!("{}/{protocol}", int_at(p, "/port")),
            }
        })
        .collect();
    let selector = o
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .map(|m| {
            let mut pairs: Vec<_> = m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
            pairs.sort();
            pairs.join(",")
        })
        .unwrap_or_else(|| "<none>".into());
    vec![
        name,
        json!(kind),
        json!(cluster_ip),
        json!(external_ip),
        json!(if ports.is_empty() { "<none>".into() } else { ports.join(",") }),
        age,
        json!(selector),
    ]
}

fn endpoints_text(o: &Value) -> String {
    let mut list = Vec::new();
    let mut count = 0;
    for subset in o.pointer("/subsets").and_then(Value::as_array).into_iter().flatten() {
        let ports = subset.get("ports").and_then(Value::as_array).cloned().unwrap_or_default();
        for addr in subset.get("addresses").and_then(Value::as_array).into_iter().flatten() {
            let ip = str_at(addr, "/ip");
            if ports.is_empty() {
                count += 1;
                if list.len() < 3 {
                    list.push(ip.to_string());
                }
            }
            for p in &ports {
                count += 1;
                if list.len() < 3 {
                    list.push(format!("{ip}:{}", int_at(p, "/port")));
                }
            }
        }
    }
    match count {
        0 => "<none>".into(),
        n if n > 3 => format!("{} + {} more...", list.join(","), n - 3),
        _ => list.join(","),
    }
}

fn event_cells(o: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let first = ["/firstTimestamp", "/eventTime", "/metadata/creationTimestamp"]
        .iter()
        .find(|p| !str_at(o, p).is_empty())
        .copied()
        .unwrap_or("/metadata/creationTimestamp");
    let last = ["/lastTimestamp", "/series/lastObservedTime", "/eventTime", "/firstTimestamp"]
        .iter()
        .find(|p| !str_at(o, p).is_empty())
        .copied()
        .unwrap_or(first);
    let count = o.pointer("/series/count").or_else(|| o.get("count")).and_then(Value::as_i64).unwrap_or(1);
    let last_seen = if count > 1 {
        format!("{} (x{count} over {})", age_at(o, last, now), age_at(o, first, now))
    } else {
        age_at(o, last, now)
    };
    let object = format!("{}/{}", str_at(o, "/involvedObject/kind").to_lowercase(), str_at(o, "/involvedObject/name"));
    let source = [str_at(o, "/source/component"), str_at(o, "/source/host")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let source = if source.is_empty() { str_at(o, "/reportingComponent").to_string() } else { source };
    vec![
        json!(last_seen),
        json!(str_at(o, "/type")),
        json!(str_at(o, "/reason")),
        json!(object),
        json!(str_at(o, "/involvedObject/fieldPath")),
        json!(source),
        json!(str_at(o, "/message").trim()),
        json!(age_at(o, first, now)),
        json!(count),
        json!(str_at(o, "/metadata/name")),
    ]
}

fn access_modes(modes: Option<&Value>) -> String {
    let modes: Vec<&str> = modes.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let mut short = Vec::new();
    for (long, abbrev) in
        [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
    {
        if modes.contains(&long) {
            short.push(abbrev);
        }
    }
    short.join(",")
}

fn pvc_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let bound = !str_at(o, "/spec/volumeName").is_empty();
    let (capacity, modes) = if bound {
        (str_at(o, "/status/capacity/storage").to_string(), access_modes(o.pointer("/status/accessModes")))
    } else {
        (String::new(), String::new())
    };
    let status = if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating".to_string()
    } else {
        o.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending").to_string()
    };
    let class = o
        .pointer("/spec/storageClassName")
        .and_then(Value::as_str)
        .or_else(|| o.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class").and_then(Value::as_str))
        .unwrap_or("<unset>");
    let attr_class = o.pointer("/spec/volumeAttributesClassName").and_then(Value::as_str).unwrap_or("<unset>");
    vec![
        name,
        json!(status),
        json!(str_at(o, "/spec/volumeName")),
        json!(capacity),
        json!(modes),
        json!(class),
        json!(attr_class),
        age,
        json!(o.pointer("/spec/volumeMode").and_then(Value::as_str).unwrap_or("<unset>")),
    ]
}

fn node_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let conditions = o.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let ready = conditions.iter().find(|c| str_at(c, "/type") == "Ready");
    let mut status = match ready.map(|c| str_at(c, "/status")) {
        Some("True") => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if o.pointer("/spec/unschedulable") == Some(&json!(true)) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<String> = o
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            k.strip_prefix("node-role.kubernetes.io/")
                .map(String::from)
                .or_else(|| (k == "kubernetes.io/role").then(|| v.as_str().unwrap_or("").to_string()))
        })
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort();
    let address = |kind: &str| {
        o.pointer("/status/addresses")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| str_at(x, "/type") == kind))
            .map(|x| str_at(x, "/address").to_string())
            .unwrap_or_else(|| "<none>".into())
    };
    let info = |field: &str| {
        let v = str_at(o, &format!("/status/nodeInfo/{field}"));
        if v.is_empty() { "<unknown>".to_string() } else { v.to_string() }
    };
    vec![
        name,
        json!(status),
        json!(if roles.is_empty() { "<none>".into() } else { roles.join(",") }),
        age,
        json!(str_at(o, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

/// The TARGETS column: `cpu: 40%/80%`, `<unknown>` until metrics arrive, at most two
/// metrics then `+ N more...`.
fn hpa_targets(o: &Value) -> String {
    let specs = o.pointer("/spec/metrics").and_then(Value::as_array).cloned().unwrap_or_default();
    if specs.is_empty() {
        return "<none>".into();
    }
    let statuses = o.pointer("/status/currentMetrics").and_then(Value::as_array).cloned().unwrap_or_default();
    let quantity = |v: Option<&Value>| v.map(|q| q.as_str().map(String::from).unwrap_or_else(|| q.to_string()));
    let mut list = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let status = statuses.get(i);
        let text = match str_at(spec, "/type") {
            "Resource" | "ContainerResource" => {
                let source = if str_at(spec, "/type") == "Resource" { "resource" } else { "containerResource" };
                let target = spec.get(source).cloned().unwrap_or_default();
                let current = status.and_then(|s| s.get(source)).cloned();
                let resource_name = str_at(&target, "/name");
                if let Some(avg) = quantity(target.pointer("/target/averageValue")) {
                    let cur = current.as_ref().and_then(|c| quantity(c.pointer("/current/averageValue")));
                    format!("{resource_name}: {}/{avg}", cur.unwrap_or_else(|| "<unknown>".into()))
                } else {
                    let cur = current
                        .as_ref()
                        .and_then(|c| c.pointer("/current/averageUtilization"))
                        .and_then(Value::as_i64)
                        .map_or("<unknown>".to_string(), |u| format!("{u}%"));
                    let tgt = target
                        .pointer("/target/averageUtilization")
                        .and_then(Value::as_i64)
                        .map_or("<auto>".to_string(), |u| format!("{u}%"));
                    format!("{resource_name}: {cur}/{tgt}")
                }
            }
            kind => {
                let source = match kind {
                    "Pods" => "pods",
                    "Object" => "object",
                    _ => "external",
                };
                let target = spec.get(source).cloned().unwrap_or_default();
                let tgt = quantity(target.pointer("/target/averageValue"))
                    .or_else(|| quantity(target.pointer("/target/value")))
                    .unwrap_or_else(|| "<auto>".into());
                let cur = status
                    .and_then(|s| s.get(source))
                    .and_then(|c| {
                        quantity(c.pointer("/current/averageValue")).or_else(|| quantity(c.pointer("/current/value")))
                    })
                    .unwrap_or_else(|| "<unknown>".into());
                let averaged = kind != "Pods" && target.pointer("/target/averageValue").is_some();
                if averaged { format!("{cur}/{tgt} (avg)") } else { format!("{cur}/{tgt}") }
            }
        };
        list.push(text);
    }
    if list.len() > 2 {
        let more = list.len() - 2;
        list.truncate(2);
        return format!("{} + {more} more...", list.join(", "));
    }
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::resource;

    fn now() -> jiff::Timestamp {
        "2026-01-01T12:00:00Z".parse().unwrap()
    }

    fn cells_of(plural: &str, obj: Value) -> Vec<Value> {
        let t = table(resource(plural).unwrap(), &[&obj], "1", IncludeObject::Metadata, now());
        t["rows"][0]["cells"].as_array().unwrap().clone()
    }

    fn headers(plural: &str) -> Vec<String> {
        let t = table(resource(plural).unwrap(), &[], "1", IncludeObject::None, now());
        t["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_uppercase()).collect()
    }

    #[test]
    fn ages_like_kubectl() {
        let d = |s: i64| human_duration(jiff::SignedDuration::from_secs(s));
        assert_eq!(d(5), "5s");
        assert_eq!(d(119), "119s");
        assert_eq!(d(125), "2m5s");
        assert_eq!(d(600), "10m");
        assert_eq!(d(3 * 3600 + 60), "3h1m");
        assert_eq!(d(10 * 3600), "10h");
        assert_eq!(d(3 * 86400 + 7200), "3d2h");
        assert_eq!(d(30 * 86400), "30d");
        assert_eq!(d(-10), "<invalid>");
    }

    #[test]
    fn pod_running_with_restarts() {
        let pod = json!({
            "metadata": {"name": "api-1", "creationTimestamp": "2026-01-01T11:00:00Z"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app"}, {"name": "proxy"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 3, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T11:58:00Z"}}},
                {"name": "proxy", "ready": false, "restartCount": 0, "state": {"running": {}}}
            ]}
        });
        let c = cells_of("pods", pod);
        assert_eq!(c[..5], [json!("api-1"), json!("1/2"), json!("Running"), json!("3 (2m ago)"), json!("60m")]);
        assert_eq!(c[5..], [json!("10.0.0.5"), json!("node-1"), json!("<none>"), json!("<none>")]);
        assert_eq!(headers("pods")[..5], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    }

    #[test]
    fn pod_status_words() {
        let waiting = |reason: &str| {
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]},
                   "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": reason}}}]}})
        };
        assert_eq!(pod_summary(&waiting("ContainerCreating")).status, "ContainerCreating");
        assert_eq!(pod_summary(&waiting("CrashLoopBackOff")).status, "CrashLoopBackOff");
        let pending =
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending"}});
        assert_eq!(pod_summary(&pending).status, "Pending");
        let mut deleting = pending.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T12:00:00Z");
        assert_eq!(pod_summary(&deleting).status, "Terminating");
        let done = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Succeeded",
            "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        assert_eq!(pod_summary(&done).status, "Completed");
        let init = json!({"metadata": {"name": "p"}, "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]}});
        assert_eq!(pod_summary(&init).status, "Init:0/1");
    }

    #[test]
    fn deployment_and_replicaset_columns() {
        let d = json!({"metadata": {"name": "api", "creationTimestamp": "2026-01-01T11:59:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api", "tier": "web"}},
                     "template": {"spec": {"containers": [{"name": "app", "image": "api:2"}, {"name": "proxy", "image": "envoy:1"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        assert_eq!(
            cells_of("deployments", d.clone()),
            vec![
                json!("api"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("60s"),
                json!("app,proxy"),
                json!("api:2,envoy:1"),
                json!("app=api,tier=web")
            ]
        );
        assert_eq!(headers("deployments")[..5], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
        assert_eq!(cells_of("replicasets", d)[..4], [json!("api"), json!(3), json!(0), json!(2)]);
    }

    #[test]
    fn pdb_and_hpa_columns() {
        let pdb =
            json!({"metadata": {"name": "web"}, "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 0}});
        assert_eq!(cells_of("poddisruptionbudgets", pdb)[..4], [json!("web"), json!("2"), json!("N/A"), json!(0)]);
        let pct =
            json!({"metadata": {"name": "w"}, "spec": {"maxUnavailable": "25%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(cells_of("poddisruptionbudgets", pct)[1..4], [json!("N/A"), json!("25%"), json!(1)]);
        let hpa = json!({"metadata": {"name": "app"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "app"}, "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]},
            "status": {"currentReplicas": 4, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 55}}}]}});
        assert_eq!(
            cells_of("horizontalpodautoscalers", hpa)[..6],
            [json!("app"), json!("Deployment/app"), json!("cpu: 55%/80%"), json!("2"), json!(10), json!(4)]
        );
        assert_eq!(
            headers("horizontalpodautoscalers"),
            ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
        );
    }

    #[test]
    fn secrets_count_keys_and_never_print_values() {
        let s = json!({"metadata": {"name": "db"}, "type": "Opaque", "data": {"password": "c2VjcmV0"}});
        let c = cells_of("secrets", s);
        assert_eq!(c[..3], [json!("db"), json!("Opaque"), json!(1)]);
        assert!(!serde_json::to_string(&c).unwrap().contains("c2VjcmV0"));
    }

    #[test]
    fn services_nodes_pvcs() {
        let svc = json!({"metadata": {"name": "web"}, "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30443}], "selector": {"app": "web"}}});
        assert_eq!(
            cells_of("services", svc)[..5],
            [json!("web"), json!("ClusterIP"), json!("10.96.0.10"), json!("<none>"), json!("80/TCP,443:30443/TCP")]
        );
        let node = json!({"metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.33.1"}}});
        assert_eq!(
            cells_of("nodes", node)[..5],
            [json!("n1"), json!("Ready"), json!("control-plane"), json!("<unknown>"), json!("v1.33.1")]
        );
        let pvc = json!({"metadata": {"name": "data"}, "spec": {"volumeName": "pv-1", "storageClassName": "standard"},
            "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}});
        assert_eq!(
            cells_of("persistentvolumeclaims", pvc)[..6],
            [json!("data"), json!("Bound"), json!("pv-1"), json!("10Gi"), json!("RWO"), json!("standard")]
        );
    }

    #[test]
    fn rows_carry_partial_object_metadata_by_default() {
        let obj = json!({"metadata": {"name": "x", "namespace": "a"}, "data": {"k": "v"}});
        let t = table(resource("configmaps").unwrap(), &[&obj], "7", IncludeObject::Metadata, now());
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "a");
        assert!(t["rows"][0]["object"].get("data").is_none());
        assert_eq!(t["metadata"]["resourceVersion"], "7");
    }
}
