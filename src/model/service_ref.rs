//! Which service an operator means: `NAME`, `NAMESPACE/NAME` or `KIND/NAME` (`deploy/api`,
//! `sts/redis`), as the command-line contract spells it. It lives in the model because it
//! names a service: the CLI, runbook files and actions all resolve it the same way.

use super::service::{Service, WorkloadKind};

/// A parsed `SERVICE` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    pub kind: Option<WorkloadKind>,
    pub namespace: Option<String>,
    pub name: String,
}

fn kind_named(word: &str) -> Option<WorkloadKind> {
    match word.to_ascii_lowercase().as_str() {
        "deploy" | "deployment" | "deployments" | "deployment.apps" => Some(WorkloadKind::Deployment),
        "sts" | "statefulset" | "statefulsets" | "statefulset.apps" => Some(WorkloadKind::StatefulSet),
        _ => None,
    }
}

impl ServiceRef {
    pub fn parse(text: &str) -> Result<ServiceRef, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let empty = || format!("\"{text}\": expected NAME, NAMESPACE/NAME or KIND/NAME");
        if parts.iter().any(|p| p.is_empty()) {
            return Err(empty());
        }
        match parts.as_slice() {
            [name] => Ok(ServiceRef { kind: None, namespace: None, name: name.to_string() }),
            [first, name] => match kind_named(first) {
                Some(kind) => Ok(ServiceRef { kind: Some(kind), namespace: None, name: name.to_string() }),
                None => Ok(ServiceRef { kind: None, namespace: Some(first.to_string()), name: name.to_string() }),
            },
            [ns, kind, name] => {
                let kind = kind_named(kind).ok_or_else(empty)?;
                Ok(ServiceRef { kind: Some(kind), namespace: Some(ns.to_string()), name: name.to_string() })
            }
            _ => Err(empty()),
        }
    }

    /// The one service this refers to, looking in `default_namespace` unless a namespace is
    /// given; an ambiguous name (a Deployment and a StatefulSet) asks for the kind.
    pub fn resolve<'a, S: std::borrow::Borrow<Service>>(
        &self,
        services: &'a [S],
        default_namespace: &str,
    ) -> Result<&'a Service, String> {
        let namespace = self.namespace.as_deref().unwrap_or(default_namespace);
        let found: Vec<&Service> = services
            .iter()
            .map(std::borrow::Borrow::borrow)
            .filter(|s| s.key.name == self.name && s.key.namespace == namespace)
            .filter(|s| self.kind.is_none_or(|k| s.key.kind == k))
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(format!("no Deployment or StatefulSet \"{}\" in namespace {namespace}", self.name)),
            _ => Err(format!(
                "\"{}\" in namespace {namespace} is both a Deployment and a StatefulSet: say deploy/{0} or sts/{0}",
                self.name
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_the_contract_parses() {
        let r = |t: &str| ServiceRef::parse(t).unwrap();
        assert_eq!(r("api"), ServiceRef { kind: None, namespace: None, name: "api".into() });
        assert_eq!(r("shop/api").namespace.as_deref(), Some("shop"));
        assert_eq!(r("deploy/api").kind, Some(WorkloadKind::Deployment));
        assert_eq!(r("sts/redis").kind, Some(WorkloadKind::StatefulSet));
        assert_eq!(r("shop/sts/redis").namespace.as_deref(), Some("shop"));
        assert!(ServiceRef::parse("a//b").unwrap_err().contains("expected NAME"));
        assert!(ServiceRef::parse("a/b/c").is_err(), "b is no kind");
    }
}
