//! Which services a profile binding means: `namespace/name`, a bare name, or an
//! equality-based label selector on the pod template. The budget, lint and SLO passes and
//! the profile all match services this one way.

use std::collections::BTreeMap;

use super::service::Service;

/// Which services a binding covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceMatch {
    /// `namespace/name`, or `name` in any namespace.
    Named { namespace: Option<String>, name: String },
    /// Equality-based label selector on the pod template (`k=v,k2!=v2,k3`).
    Selector { namespace: Option<String>, requirements: Vec<LabelRequirement> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
}

/// Whether a profile binding covers `service`.
pub fn covers(matcher: &ServiceMatch, service: &Service) -> bool {
    let in_namespace = |ns: &Option<String>| ns.as_ref().is_none_or(|ns| *ns == service.key.namespace);
    match matcher {
        ServiceMatch::Named { namespace, name } => in_namespace(namespace) && *name == service.key.name,
        ServiceMatch::Selector { namespace, requirements } => {
            in_namespace(namespace) && requirements.iter().all(|r| r.holds(&service.database.labels))
        }
    }
}

impl LabelRequirement {
    fn holds(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            LabelRequirement::Equals(k, v) => labels.get(k) == Some(v),
            LabelRequirement::NotEquals(k, v) => labels.get(k) != Some(v),
            LabelRequirement::Exists(k) => labels.contains_key(k),
        }
    }
}

/// Parses an equality-based selector (`app=api,tier!=cache,canary`).
pub fn parse_selector(text: &str) -> Result<Vec<LabelRequirement>, String> {
    let mut requirements = Vec::new();
    for term in text.split(',').map(str::trim) {
        let requirement = if let Some((k, v)) = term.split_once("!=") {
            LabelRequirement::NotEquals(label_key(k)?, v.trim().to_string())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            LabelRequirement::Equals(label_key(k)?, v.trim().to_string())
        } else {
            LabelRequirement::Exists(label_key(term)?)
        };
        requirements.push(requirement);
    }
    Ok(requirements)
}

fn label_key(key: &str) -> Result<String, String> {
    let key = key.trim();
    let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if valid {
        Ok(key.to_string())
    } else {
        Err(format!("{key:?} is not a label key (expected key=value, key!=value or key)"))
    }
}
