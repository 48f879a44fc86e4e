//! Discovery documents, all derived from the served types (built-in and CRD-defined): `/version`, `/api`,
//! `/apis`, `/apis/G`, `/api/v1`, `/apis/G/V` as legacy discovery (kubectl asks for
//! aggregated discovery first and falls back when the answer is plain
//! `application/json`), and a minimal OpenAPI v3: kubectl only reads it to learn that
//! PATCH endpoints accept `fieldValidation` (without it `kubectl create -f` refuses to
//! validate), so each group/version document lists its PATCH operations and that
//! parameter, no schemas.

use serde_json::{Value, json};

use crate::sim::resources::{ResourceType, group_versions};

/// The served types (built-in, then CRD-defined), as `Store::served` lists them.
pub type Types<'a> = &'a [&'static ResourceType];

pub const SERVER_VERSION: &str = "v1.33.1";

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": SERVER_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_doc(types: Types, group: &str) -> Value {
    let versions: Vec<Value> = group_versions(types)
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
}

pub fn groups(types: Types) -> Value {
    let mut names: Vec<&str> = Vec::new();
    for (g, _) in group_versions(types) {
        if !g.is_empty() && !names.contains(&g) {
            names.push(g);
        }
    }
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": names.into_iter().map(|g| group_doc(types, g)).collect::<Vec<_>>()})
}

pub fn group(types: Types, name: &str) -> Option<Value> {
    if name.is_empty() || !group_versions(types).iter().any(|(g, _)| *g == name) {
        return None;
    }
    let mut doc = group_doc(types, name);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn resource_entry(rt: &ResourceType) -> Value {
    let mut entry = json!({
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": rt.verbs,
    });
    if !rt.short_names.is_empty() {
        entry["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        entry["categories"] = json!(rt.categories);
    }
    entry
}

fn subresource_entry(rt: &ResourceType, sub: &str) -> Value {
    let mut entry = json!({
        "name": format!("{}/{sub}", rt.plural),
        "singularName": "",
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": ["get", "patch", "update"],
    });
    match sub {
        "scale" => {
            entry["group"] = json!("autoscaling");
            entry["version"] = json!("v1");
            entry["kind"] = json!("Scale");
        }
        "log" => entry["verbs"] = json!(["get"]),
        // kubectl drain looks for exactly this entry before it evicts rather than deletes.
        "eviction" => {
            entry["group"] = json!("policy");
            entry["version"] = json!("v1");
            entry["kind"] = json!("Eviction");
            entry["verbs"] = json!(["create"]);
        }
        _ => {}
    }
    entry
}

pub fn resources(types: Types, group: &str, version: &str) -> Option<Value> {
    let served: Vec<&ResourceType> =
        types.iter().copied().filter(|r| r.group == group && r.version == version).collect();
    if served.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for rt in served {
        list.push(resource_entry(rt));
        list.extend(rt.subresources.iter().map(|s| subresource_entry(rt, s)));
    }
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}))
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

pub fn openapi_root(types: Types) -> Value {
    let paths: serde_json::Map<String, Value> = group_versions(types)
        .into_iter()
        .map(|(g, v)| {
            let p = gv_path(g, v);
            (p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=sim1")}))
        })
        .collect();
    json!({"paths": paths})
}

pub fn openapi_group_version(types: Types, group: &str, version: &str) -> Option<Value> {
    let served: Vec<&ResourceType> =
        types.iter().copied().filter(|r| r.group == group && r.version == version).collect();
    if served.is_empty() {
        return None;
    }
    let mut paths = serde_json::Map::new();
    for rt in served.iter().filter(|r| r.supports("patch")) {
        let scope = if rt.namespaced { "/namespaces/{namespace}" } else { "" };
        let path = format!("/{}{scope}/{}/{{name}}", gv_path(group, version), rt.plural);
        paths.insert(
            path,
            json!({"patch": {
                "operationId": format!("patch{}", rt.kind),
                "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                "x-kubernetes-action": "patch",
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean"}}
                ],
                "responses": {"200": {"description": "OK"}}
            }}),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (simulated)", "version": SERVER_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::RESOURCES;

    fn builtin() -> Vec<&'static ResourceType> {
        RESOURCES.iter().collect()
    }

    #[test]
    fn resource_list_carries_verbs_short_names_and_scale() {
        let apps = resources(&builtin(), "apps", "v1").unwrap();
        let entries = apps["resources"].as_array().unwrap();
        let deploy = entries.iter().find(|e| e["name"] == "deployments").unwrap();
        assert_eq!(deploy["shortNames"], json!(["deploy"]));
        assert_eq!(deploy["categories"], json!(["all"]));
        assert!(deploy["verbs"].as_array().unwrap().contains(&json!("watch")));
        let scale = entries.iter().find(|e| e["name"] == "deployments/scale").unwrap();
        assert_eq!((scale["group"].as_str(), scale["kind"].as_str()), (Some("autoscaling"), Some("Scale")));
        assert!(resources(&builtin(), "apps", "v9").is_none());
    }

    #[test]
    fn groups_list_every_served_group_once() {
        let g = groups(&builtin());
        let names: Vec<&str> = g["groups"].as_array().unwrap().iter().map(|x| x["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"apps") && names.contains(&"policy") && names.contains(&"autoscaling"));
        assert_eq!(names.iter().filter(|n| **n == "apps").count(), 1);
        assert_eq!(group(&builtin(), "apps").unwrap()["preferredVersion"]["groupVersion"], "apps/v1");
    }

    #[test]
    fn openapi_advertises_field_validation_on_patch() {
        let root = openapi_root(&builtin());
        assert!(
            root["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/apis/apps/v1")
        );
        let doc = openapi_group_version(&builtin(), "apps", "v1").unwrap();
        let op = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(op["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"));
    }
}
