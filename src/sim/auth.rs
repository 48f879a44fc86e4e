//! Authentication and authorization for the simulated API server.
//!
//! - A scenario without users: every request is `admin` with full rights, token or not.
//! - With users: `Authorization: Bearer TOKEN` names the user; a missing or unknown token
//!   is 401. The simulator's own admin token (in the default kubeconfig) is always
//!   accepted as `admin` in group `system:masters`.
//! - Each request is checked against the user's rules (verb, `resource[/subresource]`,
//!   namespace), RBAC-style: `pods` does not grant `pods/log`; `*/scale` and `pods/*`
//!   work; a rule with namespaces grants nothing cluster-wide. Discovery is open to
//!   every authenticated user.
//! - `Impersonate-User` / `Impersonate-Group` (`kubectl --as`, `--as-group`) are honoured
//!   when the caller may `impersonate` `users` / `groups`; the impersonated user gets the
//!   rules of the scenario user of that name (none for an unknown name), and
//!   `system:masters` among the groups means full rights, as on a real cluster.
//!
//! SelfSubjectAccessReview and SelfSubjectRulesReview answer from the same functions, so
//! `kubectl auth can-i` always agrees with what is enforced.

use http::HeaderMap;
use serde_json::{Value, json};

use super::error::ApiError;
use super::resources::{RESOURCES, ResourceType};
use super::spec::{RuleSpec, UserSpec};

pub const MASTERS: &str = "system:masters";

/// Who a request runs as.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    pub name: String,
    pub groups: Vec<String>,
    rules: Vec<RuleSpec>,
}

impl Identity {
    pub fn admin() -> Self {
        Identity {
            name: "admin".into(),
            groups: vec![MASTERS.into(), "system:authenticated".into()],
            rules: Vec::new(),
        }
    }

    pub fn is_superuser(&self) -> bool {
        self.groups.iter().any(|g| g == MASTERS)
    }
}

/// What a request wants to do, as RBAC sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    /// Plural resource name (`pods`), or `users`/`groups` for impersonation.
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    /// "" for a cluster-scoped request (or a list across all namespaces).
    pub namespace: &'a str,
}

pub struct Auth {
    users: Vec<UserSpec>,
    admin_token: String,
}

impl Auth {
    pub fn new(users: Vec<UserSpec>, admin_token: String) -> Self {
        Auth { users, admin_token }
    }

    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    pub fn token_of(&self, user: &str) -> Option<&str> {
        self.users.iter().find(|u| u.name == user).map(|u| u.token.as_str())
    }

    fn identity_of(&self, user: &UserSpec) -> Identity {
        let mut groups = user.groups.clone();
        groups.push("system:authenticated".into());
        Identity { name: user.name.clone(), groups, rules: user.rules.clone() }
    }

    /// The caller, from the bearer token (401 when users are declared and it is unknown),
    /// then impersonation headers.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Identity, ApiError> {
        let caller = self.caller(headers)?;
        self.impersonate(caller, headers)
    }

    fn caller(&self, headers: &HeaderMap) -> Result<Identity, ApiError> {
        if self.users.is_empty() {
            return Ok(Identity::admin());
        }
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        if token == self.admin_token {
            return Ok(Identity::admin());
        }
        self.users.iter().find(|u| u.token == token).map(|u| self.identity_of(u)).ok_or_else(ApiError::unauthorized)
    }

    fn impersonate(&self, caller: Identity, headers: &HeaderMap) -> Result<Identity, ApiError> {
        let user = headers.get("impersonate-user").and_then(|v| v.to_str().ok()).map(String::from);
        let groups: Vec<String> =
            headers.get_all("impersonate-group").iter().filter_map(|v| v.to_str().ok()).map(String::from).collect();
        let Some(user) = user else {
            if groups.is_empty() {
                return Ok(caller);
            }
            return Err(ApiError::bad_request("requested impersonation of groups without impersonating a user"));
        };
        let may = |resource: &str| {
            self.allows(&caller, &Attributes { verb: "impersonate", resource, subresource: None, namespace: "" })
        };
        if !may("users") {
            return Err(impersonation_forbidden(&caller.name, "users", &user));
        }
        if let Some(group) = groups.first()
            && !may("groups")
        {
            return Err(impersonation_forbidden(&caller.name, "groups", group));
        }
        let mut target = match self.users.iter().find(|u| u.name == user) {
            Some(spec) => self.identity_of(spec),
            None if user == "admin" && self.users.is_empty() => Identity::admin(),
            None => Identity { name: user, groups: vec!["system:authenticated".into()], rules: Vec::new() },
        };
        target.groups.extend(groups);
        Ok(target)
    }

    /// Whether the scenario's RBAC lets `who` do `what` (faults are checked elsewhere).
    pub fn allows(&self, who: &Identity, what: &Attributes) -> bool {
        who.is_superuser() || who.rules.iter().any(|r| rule_allows(r, what))
    }

    /// The `status` of a SelfSubjectRulesReview for `namespace`.
    pub fn rules_review(&self, who: &Identity, namespace: &str) -> Value {
        let non_resource = json!([{
            "verbs": ["get"],
            "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version", "/version/", "/openapi", "/openapi/*"]
        }]);
        if who.is_superuser() {
            return json!({
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": false,
            });
        }
        let rules: Vec<Value> = who
            .rules
            .iter()
            .filter(|r| r.namespaces.is_empty() || r.namespaces.iter().any(|n| n == namespace))
            .map(|r| json!({"verbs": r.verbs, "apiGroups": api_groups_of(&r.resources), "resources": r.resources}))
            .collect();
        json!({"resourceRules": rules, "nonResourceRules": non_resource, "incomplete": false})
    }
}

fn impersonation_forbidden(caller: &str, resource: &str, name: &str) -> ApiError {
    ApiError {
        code: 403,
        reason: "Forbidden",
        message: format!(
            "{resource} \"{name}\" is forbidden: User \"{caller}\" cannot impersonate resource \"{resource}\" in API group \"\" at the cluster scope"
        ),
        details: Some(json!({"name": name, "kind": resource})),
        retry_after: None,
    }
}

/// The API server's 403 for a resource request.
pub fn forbidden(who: &Identity, what: &Attributes, rt: &ResourceType, name: Option<&str>) -> ApiError {
    let qualified = if rt.group.is_empty() { rt.plural.to_string() } else { format!("{}.{}", rt.plural, rt.group) };
    let resource = match what.subresource {
        Some(sub) => format!("{}/{sub}", what.resource),
        None => what.resource.to_string(),
    };
    let scope = if what.namespace.is_empty() {
        " at the cluster scope".to_string()
    } else {
        format!(" in the namespace \"{}\"", what.namespace)
    };
    let subject = match name {
        Some(n) if !n.is_empty() => format!("{qualified} \"{n}\""),
        _ => qualified,
    };
    ApiError {
        code: 403,
        reason: "Forbidden",
        message: format!(
            "{subject} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\"{scope}",
            who.name, what.verb, rt.group
        ),
        details: Some(json!({"name": name.unwrap_or(""), "group": rt.group, "kind": rt.plural})),
        retry_after: None,
    }
}

fn rule_allows(rule: &RuleSpec, what: &Attributes) -> bool {
    let verb_ok = rule.verbs.iter().any(|v| v == "*" || v == what.verb);
    let resource_ok = rule.resources.iter().any(|r| resource_matches(r, what.resource, what.subresource));
    let namespace_ok = rule.namespaces.is_empty()
        || (!what.namespace.is_empty() && rule.namespaces.iter().any(|n| n == what.namespace));
    verb_ok && resource_ok && namespace_ok
}

fn resource_matches(pattern: &str, resource: &str, sub: Option<&str>) -> bool {
    if pattern == "*" {
        return true;
    }
    match (pattern.split_once('/'), sub) {
        (None, None) => pattern == resource,
        (None, Some(_)) => false,
        (Some(_), None) => false,
        (Some((r, s)), Some(sub)) => (r == "*" || r == resource) && (s == "*" || s == sub),
    }
}

fn api_groups_of(resources: &[String]) -> Vec<String> {
    if resources.iter().any(|r| r == "*" || r.starts_with("*/")) {
        return vec!["*".into()];
    }
    let mut groups: Vec<String> = Vec::new();
    for r in resources {
        let plural = r.split('/').next().unwrap_or("");
        for rt in RESOURCES.iter().filter(|t| t.plural == plural) {
            if !groups.iter().any(|g| g == rt.group) {
                groups.push(rt.group.to_string());
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::resource;

    fn viewer() -> UserSpec {
        UserSpec {
            name: "viewer".into(),
            token: "t-viewer".into(),
            groups: vec![],
            rules: vec![
                RuleSpec {
                    verbs: vec!["get".into(), "list".into(), "watch".into()],
                    resources: vec!["*".into()],
                    namespaces: vec![],
                },
                RuleSpec {
                    verbs: vec!["patch".into()],
                    resources: vec!["deployments/scale".into()],
                    namespaces: vec!["prod".into()],
                },
            ],
        }
    }

    fn auth() -> Auth {
        Auth::new(vec![viewer()], "admin-token".into())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn attrs<'a>(verb: &'a str, resource: &'a str, sub: Option<&'a str>, ns: &'a str) -> Attributes<'a> {
        Attributes { verb, resource, subresource: sub, namespace: ns }
    }

    #[test]
    fn tokens_name_users_and_unknown_is_unauthorized() {
        let a = auth();
        assert_eq!(a.authenticate(&headers(&[("authorization", "Bearer t-viewer")])).unwrap().name, "viewer");
        assert!(a.authenticate(&headers(&[("authorization", "Bearer admin-token")])).unwrap().is_superuser());
        assert_eq!(a.authenticate(&headers(&[("authorization", "Bearer nope")])).unwrap_err().code, 401);
        assert_eq!(a.authenticate(&HeaderMap::new()).unwrap_err().code, 401);
    }

    #[test]
    fn without_users_everyone_is_admin() {
        let a = Auth::new(vec![], "x".into());
        let who = a.authenticate(&HeaderMap::new()).unwrap();
        assert!(a.allows(&who, &attrs("delete", "nodes", None, "")));
    }

    #[test]
    fn rules_match_verb_resource_subresource_and_namespace() {
        let a = auth();
        let who = a.authenticate(&headers(&[("authorization", "Bearer t-viewer")])).unwrap();
        assert!(a.allows(&who, &attrs("list", "pods", None, "")));
        assert!(a.allows(&who, &attrs("get", "pods", Some("log"), "prod")), "* covers subresources");
        assert!(!a.allows(&who, &attrs("delete", "pods", None, "prod")));
        assert!(a.allows(&who, &attrs("patch", "deployments", Some("scale"), "prod")));
        assert!(!a.allows(&who, &attrs("patch", "deployments", Some("scale"), "dev")), "namespaced rule");
        assert!(!a.allows(&who, &attrs("patch", "deployments", None, "prod")), "scale does not grant the parent");
        assert!(resource_matches("*/scale", "statefulsets", Some("scale")));
        assert!(!resource_matches("pods", "pods", Some("log")));
    }

    #[test]
    fn impersonation_needs_permission_and_takes_the_target_rules() {
        let a = auth();
        let as_viewer = a
            .authenticate(&headers(&[("authorization", "Bearer admin-token"), ("impersonate-user", "viewer")]))
            .unwrap();
        assert_eq!(as_viewer.name, "viewer");
        assert!(!a.allows(&as_viewer, &attrs("delete", "pods", None, "prod")));
        let err = a
            .authenticate(&headers(&[("authorization", "Bearer t-viewer"), ("impersonate-user", "admin")]))
            .unwrap_err();
        assert_eq!(err.code, 403);
        assert!(err.message.contains("cannot impersonate resource \"users\""), "{}", err.message);
        let masters = a
            .authenticate(&headers(&[
                ("authorization", "Bearer admin-token"),
                ("impersonate-user", "someone"),
                ("impersonate-group", MASTERS),
            ]))
            .unwrap();
        assert!(masters.is_superuser());
    }

    #[test]
    fn forbidden_message_is_the_real_one() {
        let a = auth();
        let who = a.authenticate(&headers(&[("authorization", "Bearer t-viewer")])).unwrap();
        let what = attrs("delete", "pods", None, "prod");
        let e = forbidden(&who, &what, resource("pods").unwrap(), Some("api-1"));
        assert_eq!(
            e.message,
            "pods \"api-1\" is forbidden: User \"viewer\" cannot delete resource \"pods\" in API group \"\" in the namespace \"prod\""
        );
        let what = attrs("list", "deployments", None, "");
        let e = forbidden(&who, &what, resource("deployments").unwrap(), None);
        assert_eq!(
            e.message,
            "deployments.apps is forbidden: User \"viewer\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope"
        );
    }

    #[test]
    fn rules_review_lists_what_applies_in_the_namespace() {
        let a = auth();
        let who = a.authenticate(&headers(&[("authorization", "Bearer t-viewer")])).unwrap();
        let prod = a.rules_review(&who, "prod");
        assert_eq!(prod["resourceRules"].as_array().unwrap().len(), 2);
        assert_eq!(prod["resourceRules"][1]["apiGroups"], json!(["apps"]));
        assert_eq!(a.rules_review(&who, "dev")["resourceRules"].as_array().unwrap().len(), 1);
    }
}
