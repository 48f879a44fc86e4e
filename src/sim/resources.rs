//! The resource types the simulator serves: what discovery advertises and what the
//! store and the router accept. The built-in kinds are one static table; the kinds that
//! CustomResourceDefinitions add are kept by the store next to the objects (see
//! `Store::served` and [`crate::sim::crd`]), so discovery can never disagree with routing.

#[derive(Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// API group, "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Subresources served under `/{name}/{sub}`.
    pub subresources: &'static [&'static str],
    /// What a CustomResourceDefinition says about this kind; `None` for built-in kinds.
    pub custom: Option<&'static CustomInfo>,
}

/// The parts of a CRD version the API server acts on beyond names and scope.
#[derive(Debug, PartialEq, Eq)]
pub struct CustomInfo {
    /// `additionalPrinterColumns` of this version, in order.
    pub printer_columns: Vec<PrinterColumn>,
    /// `subresources.scale`, when declared.
    pub scale: Option<ScalePaths>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct PrinterColumn {
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub kind: String,
    pub json_path: String,
    pub priority: i64,
}

/// Where the scale subresource reads and writes, as JSON paths (`.spec.replicas`).
#[derive(Debug, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }

    pub fn group_version(&self) -> (&'static str, &'static str) {
        (self.group, self.version)
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// Whether this is the built-in kind `plural` of `group` (a CRD may reuse a built-in
    /// plural in its own group; built-in behaviour must not leak onto it).
    pub fn is(&self, group: &str, plural: &str) -> bool {
        self.custom.is_none() && self.group == group && self.plural == plural
    }

    /// Whether `/status` is served, so that writes to the main resource ignore `status`.
    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }
}

const ALL_VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const CREATE_ONLY: &[&str] = &["create"];

macro_rules! rt {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $namespaced:expr,
     short: [$($short:expr),*], cat: [$($cat:expr),*], verbs: $verbs:expr, sub: [$($sub:expr),*]) => {
        ResourceType {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $namespaced,
            short_names: &[$($short),*],
            categories: &[$($cat),*],
            verbs: $verbs,
            subresources: &[$($sub),*],
            custom: None,
        }
    };
}

pub static RESOURCES: &[ResourceType] = &[
    rt!("", "v1", "Namespace", "namespaces", "namespace", false, short: ["ns"], cat: [], verbs: ALL_VERBS, sub: ["status"]),
    rt!("", "v1", "Node", "nodes", "node", false, short: ["no"], cat: [], verbs: ALL_VERBS, sub: ["status"]),
    rt!("", "v1", "Pod", "pods", "pod", true, short: ["po"], cat: ["all"], verbs: ALL_VERBS, sub: ["eviction", "log", "status"]),
    rt!("", "v1", "Service", "services", "service", true, short: ["svc"], cat: ["all"], verbs: ALL_VERBS, sub: ["status"]),
    rt!("", "v1", "Endpoints", "endpoints", "endpoints", true, short: ["ep"], cat: [], verbs: ALL_VERBS, sub: []),
    rt!("", "v1", "Event", "events", "event", true, short: ["ev"], cat: [], verbs: ALL_VERBS, sub: []),
    rt!("", "v1", "ConfigMap", "configmaps", "configmap", true, short: ["cm"], cat: [], verbs: ALL_VERBS, sub: []),
    rt!("", "v1", "Secret", "secrets", "secret", true, short: [], cat: [], verbs: ALL_VERBS, sub: []),
    rt!("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", true, short: ["pvc"], cat: [], verbs: ALL_VERBS, sub: ["status"]),
    rt!("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, short: ["sa"], cat: [], verbs: ALL_VERBS, sub: []),
    rt!("apps", "v1", "Deployment", "deployments", "deployment", true, short: ["deploy"], cat: ["all"], verbs: ALL_VERBS, sub: ["scale", "status"]),
    rt!("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, short: ["sts"], cat: ["all"], verbs: ALL_VERBS, sub: ["scale", "status"]),
    rt!("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, short: ["rs"], cat: ["all"], verbs: ALL_VERBS, sub: ["scale", "status"]),
    rt!("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, short: ["ds"], cat: ["all"], verbs: ALL_VERBS, sub: ["status"]),
    rt!("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", true, short: [], cat: [], verbs: ALL_VERBS, sub: []),
    rt!("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true, short: ["pdb"], cat: [], verbs: ALL_VERBS, sub: ["status"]),
    rt!("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", true, short: ["hpa"], cat: ["all"], verbs: ALL_VERBS, sub: ["status"]),
    rt!("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition", false, short: ["crd", "crds"], cat: ["api-extensions"], verbs: ALL_VERBS, sub: ["status"]),
    rt!("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview", false, short: [], cat: [], verbs: CREATE_ONLY, sub: []),
    rt!("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview", false, short: [], cat: [], verbs: CREATE_ONLY, sub: []),
];

/// The CustomResourceDefinition type.
pub fn crds() -> &'static ResourceType {
    resource("customresourcedefinitions").expect("CRDs are served")
}

/// A built-in resource type by plural name (plurals are unique across the built-in groups).
pub fn resource(plural: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|r| r.plural == plural)
}

pub fn resource_in(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
}

pub fn resource_by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|r| r.kind == kind && r.api_version() == api_version)
}

/// Group/versions of `types`, in discovery order (the order of `types`: the core group first).
pub fn group_versions(types: &[&'static ResourceType]) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in types {
        if !out.contains(&r.group_version()) {
            out.push(r.group_version());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_are_unique_so_the_store_can_key_by_them() {
        for r in RESOURCES {
            assert_eq!(RESOURCES.iter().filter(|o| o.plural == r.plural).count(), 1, "{}", r.plural);
        }
    }

    #[test]
    fn kinds_are_found_by_api_version() {
        assert_eq!(resource_by_kind("apps/v1", "Deployment").unwrap().plural, "deployments");
        assert_eq!(resource_by_kind("policy/v1", "PodDisruptionBudget").unwrap().plural, "poddisruptionbudgets");
        assert!(resource_by_kind("v1", "Deployment").is_none());
    }

    #[test]
    fn core_group_is_listed_first() {
        let all: Vec<&ResourceType> = RESOURCES.iter().collect();
        assert_eq!(group_versions(&all)[0], ("", "v1"));
    }
}
