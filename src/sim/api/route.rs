//! From method and path to what a request is about, like the API server's
//! `RequestInfoFactory`: discovery documents or a resource request (type, namespace,
//! name, subresource) and its RBAC verb.

use http::Method;

use crate::sim::resources::ResourceType;
use crate::sim::store::Store;

#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    Version,
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/G`
    Group(String),
    /// `/api/v1`, `/apis/G/V`
    Resources {
        group: String,
        version: String,
    },
    OpenApiV3Root,
    OpenApiV3 {
        group: String,
        version: String,
    },
    Resource(Target),
    NotFound,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub rt: &'static ResourceType,
    /// `None` for cluster-scoped types and for lists across all namespaces.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    pub fn namespace_or_empty(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    pub fn name_or_empty(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// `pods`, or `pods/log` for a subresource (metrics and RBAC wording).
    pub fn resource_path(&self) -> String {
        match &self.subresource {
            Some(sub) => format!("{}/{sub}", self.rt.plural),
            None => self.rt.plural.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// What `path` asks for; resource types are looked up among those `store` serves
/// (built-in and CRD-defined).
pub fn route(path: &str, store: &Store) -> Route {
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["version"] => Route::Version,
        ["healthz"] | ["livez"] | ["readyz"] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["api", "v1"] => Route::Resources { group: String::new(), version: "v1".into() },
        ["api", "v1", rest @ ..] => resource_route(store, "", "v1", rest),
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group(group.to_string()),
        ["apis", group, version] => Route::Resources { group: group.to_string(), version: version.to_string() },
        ["apis", group, version, rest @ ..] => resource_route(store, group, version, rest),
        ["openapi", "v3"] => Route::OpenApiV3Root,
        ["openapi", "v3", "api", "v1"] => Route::OpenApiV3 { group: String::new(), version: "v1".into() },
        ["openapi", "v3", "apis", group, version] => {
            Route::OpenApiV3 { group: group.to_string(), version: version.to_string() }
        }
        _ => Route::NotFound,
    }
}

fn resource_route(store: &Store, group: &str, version: &str, parts: &[&str]) -> Route {
    let (namespace, rest) = match parts {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() && !matches!(rest[0], "status" | "finalize") => {
            (Some(ns.to_string()), rest)
        }
        _ => (None, parts),
    };
    let Some((plural, rest)) = rest.split_first() else { return Route::NotFound };
    let Some(rt) = store.resource_in(group, version, plural) else { return Route::NotFound };
    if namespace.is_some() && !rt.namespaced {
        return Route::NotFound;
    }
    let (name, subresource) = match rest {
        [] => (None, None),
        [name] => (Some(name.to_string()), None),
        [name, sub] if rt.subresources.contains(sub) => (Some(name.to_string()), Some(sub.to_string())),
        _ => return Route::NotFound,
    };
    if rt.namespaced && name.is_some() && namespace.is_none() {
        return Route::NotFound;
    }
    Route::Resource(Target { rt, namespace, name, subresource })
}

/// The RBAC verb of a resource request; `None` for a method the path does not take.
pub fn verb(method: &Method, target: &Target, watch: bool) -> Option<Verb> {
    let named = target.name.is_some();
    Some(match *method {
        Method::GET if !named && watch => Verb::Watch,
        Method::GET if !named => Verb::List,
        Method::GET => Verb::Get,
        // A subresource created under an object (`pods/NAME/eviction`) is a create too.
        Method::POST if !named || target.subresource.is_some() => Verb::Create,
        Method::PUT if named => Verb::Update,
        Method::PATCH if named => Verb::Patch,
        Method::DELETE if named => Verb::Delete,
        Method::DELETE => Verb::DeleteCollection,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Route {
        super::route(path, &Store::default())
    }

    fn target(path: &str) -> Target {
        match route(path) {
            Route::Resource(t) => t,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_paths() {
        let t = target("/apis/apps/v1/namespaces/prod/deployments/api/scale");
        assert_eq!(
            (t.rt.plural, t.namespace.as_deref(), t.name.as_deref()),
            ("deployments", Some("prod"), Some("api"))
        );
        assert_eq!(t.subresource.as_deref(), Some("scale"));
        let all = target("/api/v1/pods");
        assert_eq!((all.namespace, all.name), (None, None));
        let ns = target("/api/v1/namespaces/prod");
        assert_eq!((ns.rt.plural, ns.name.as_deref()), ("namespaces", Some("prod")));
        let ns_status = target("/api/v1/namespaces/prod/status");
        assert_eq!(ns_status.subresource.as_deref(), Some("status"));
        assert_eq!(target("/api/v1/nodes/n1").name.as_deref(), Some("n1"));
    }

    #[test]
    fn unknown_paths_are_not_found() {
        assert_eq!(route("/api/v1/widgets"), Route::NotFound);
        assert_eq!(route("/apis/apps/v1/namespaces/a/deployments/x/exec"), Route::NotFound);
        assert_eq!(route("/api/v1/pods/x"), Route::NotFound, "a namespaced object needs its namespace");
        assert_eq!(route("/api/v1/namespaces/a/nodes"), Route::NotFound);
        assert_eq!(route("/apis/apps/v2/deployments"), Route::NotFound);
    }

    #[test]
    fn verbs_follow_method_and_shape() {
        let coll = target("/api/v1/namespaces/a/pods");
        let item = target("/api/v1/namespaces/a/pods/p");
        assert_eq!(verb(&Method::GET, &coll, true), Some(Verb::Watch));
        assert_eq!(verb(&Method::GET, &coll, false), Some(Verb::List));
        assert_eq!(verb(&Method::DELETE, &coll, false), Some(Verb::DeleteCollection));
        assert_eq!(verb(&Method::PATCH, &item, false), Some(Verb::Patch));
        assert_eq!(verb(&Method::POST, &item, false), None);
    }
}
