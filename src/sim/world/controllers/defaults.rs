//! The defaults a real API server fills in on create (`SetDefaults_*`), limited to the
//! fields that controllers, kubectl and the cockpit read. The API half may call
//! [`apply`] on create so objects made through HTTP look like seeded ones.

use serde_json::{Map, Value, json};

use crate::sim::resources::ResourceType;

pub fn apply(rt: &ResourceType, obj: &mut Value) {
    match rt.plural {
        "deployments" => deployment(obj),
        "statefulsets" => statefulset(obj),
        "replicasets" => {
            default(obj, "/spec", "replicas", json!(1));
            template(obj.pointer_mut("/spec/template/spec"));
        }
        "pods" => template(obj.get_mut("spec")),
        "services" => service(obj),
        "persistentvolumeclaims" => default(obj, "/spec", "volumeMode", json!("Filesystem")),
        "namespaces" => {
            let name = obj.pointer("/metadata/name").cloned().unwrap_or(Value::Null);
            default(obj, "/metadata", "labels", json!({}));
            default(obj, "/metadata/labels", "kubernetes.io/metadata.name", name);
            default(obj, "", "spec", json!({"finalizers": ["kubernetes"]}));
            obj["status"] = json!({"phase": "Active"});
        }
        _ => {}
    }
}

/// Sets `obj[pointer][field]` when it is missing (creating the parent map).
fn default(obj: &mut Value, pointer: &str, field: &str, value: Value) {
    let mut at = obj;
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        if !at.is_object() {
            return;
        }
        at = at.as_object_mut().expect("object").entry(part.to_string()).or_insert_with(|| json!({}));
    }
    if let Some(map) = at.as_object_mut()
        && map.get(field).is_none_or(Value::is_null)
    {
        map.insert(field.to_string(), value);
    }
}

fn deployment(obj: &mut Value) {
    default(obj, "/spec", "replicas", json!(1));
    default(obj, "/spec", "revisionHistoryLimit", json!(10));
    default(obj, "/spec", "progressDeadlineSeconds", json!(600));
    default(obj, "/spec", "strategy", json!({}));
    default(obj, "/spec/strategy", "type", json!("RollingUpdate"));
    if obj.pointer("/spec/strategy/type").and_then(Value::as_str) == Some("RollingUpdate") {
        default(obj, "/spec/strategy", "rollingUpdate", json!({}));
        default(obj, "/spec/strategy/rollingUpdate", "maxSurge", json!("25%"));
        default(obj, "/spec/strategy/rollingUpdate", "maxUnavailable", json!("25%"));
    }
    template(obj.pointer_mut("/spec/template/spec"));
}

fn statefulset(obj: &mut Value) {
    default(obj, "/spec", "replicas", json!(1));
    default(obj, "/spec", "revisionHistoryLimit", json!(10));
    default(obj, "/spec", "podManagementPolicy", json!("OrderedReady"));
    default(obj, "/spec", "updateStrategy", json!({"type": "RollingUpdate"}));
    if obj.pointer("/spec/updateStrategy/type").and_then(Value::as_str) == Some("RollingUpdate") {
        default(obj, "/spec/updateStrategy", "rollingUpdate", json!({"partition": 0}));
    }
    default(
        obj,
        "/spec",
        "persistentVolumeClaimRetentionPolicy",
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    template(obj.pointer_mut("/spec/template/spec"));
}

fn service(obj: &mut Value) {
    default(obj, "/spec", "type", json!("ClusterIP"));
    default(obj, "/spec", "sessionAffinity", json!("None"));
    if obj.pointer("/spec/clusterIP").is_none() {
        let ip = format!("10.43.{}.{}", fastrand::u8(0..=255), fastrand::u8(1..=254));
        default(obj, "/spec", "clusterIP", json!(ip));
        default(obj, "/spec", "clusterIPs", json!([ip]));
    }
    if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for port in ports {
            let number = port.get("port").cloned().unwrap_or(Value::Null);
            if let Some(p) = port.as_object_mut() {
                p.entry("protocol").or_insert(json!("TCP"));
                p.entry("targetPort").or_insert(number);
            }
        }
    }
}

/// Pod spec defaults (in a template or a pod).
fn template(spec: Option<&mut Value>) {
    let Some(spec) = spec.and_then(Value::as_object_mut) else { return };
    insert_missing(spec, "restartPolicy", json!("Always"));
    insert_missing(spec, "terminationGracePeriodSeconds", json!(30));
    insert_missing(spec, "dnsPolicy", json!("ClusterFirst"));
    insert_missing(spec, "schedulerName", json!("default-scheduler"));
    insert_missing(spec, "securityContext", json!({}));
    for list in ["initContainers", "containers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in containers.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let tag_is_latest = image.rsplit('/').next().is_none_or(|last| !last.contains(':') || last.ends_with(":latest"));
    let pull = if tag_is_latest && !image.contains('@') { "Always" } else { "IfNotPresent" };
    insert_missing(c, "imagePullPolicy", json!(pull));
    insert_missing(c, "terminationMessagePath", json!("/dev/termination-log"));
    insert_missing(c, "terminationMessagePolicy", json!("File"));
    insert_missing(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            insert_missing(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            insert_missing(p, "timeoutSeconds", json!(1));
            insert_missing(p, "periodSeconds", json!(10));
            insert_missing(p, "successThreshold", json!(1));
            insert_missing(p, "failureThreshold", json!(3));
            if let Some(http) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                insert_missing(http, "scheme", json!("HTTP"));
                insert_missing(http, "path", json!("/"));
            }
        }
    }
}

fn insert_missing(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::resource;

    #[test]
    fn deployments_get_rolling_update_defaults() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:latest", "readinessProbe": {"httpGet": {"port": 80}}}]}}}});
        apply(resource("deployments").unwrap(), &mut d);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["readinessProbe"]["periodSeconds"], 10);
        assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTP");
    }

    #[test]
    fn recreate_gets_no_rolling_parameters() {
        let mut d = json!({"spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": []}}}});
        apply(resource("deployments").unwrap(), &mut d);
        assert!(d.pointer("/spec/strategy/rollingUpdate").is_none());
    }
}
