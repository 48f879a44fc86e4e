//! Label selectors as the API server evaluates them: `matchLabels` and `matchExpressions`
//! (In, NotIn, Exists, DoesNotExist), all terms ANDed. An empty selector selects
//! everything; a missing one selects nothing (the policy/v1 PDB rule).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// Whether `labels` satisfy `selector`. An unknown operator selects nothing, as the API
/// server would reject such a selector rather than guess.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok =
        selector.match_labels.iter().flatten().all(|(key, value)| labels.get(key).is_some_and(|v| v == value));
    labels_ok && selector.match_expressions.iter().flatten().all(|req| requirement_holds(req, labels))
}

/// Like [`selector_matches`], for an optional selector: `None` selects nothing.
pub fn optional_selector_matches(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    selector.is_some_and(|s| selector_matches(s, labels))
}

fn requirement_holds(req: &LabelSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&req.key);
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn selector(v: serde_json::Value) -> LabelSelector {
        serde_json::from_value(v).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn match_labels_need_every_pair() {
        let s = selector(json!({"matchLabels": {"app": "api", "tier": "web"}}));
        assert!(selector_matches(&s, &labels(&[("app", "api"), ("tier", "web"), ("extra", "x")])));
        assert!(!selector_matches(&s, &labels(&[("app", "api")])));
        assert!(!selector_matches(&s, &labels(&[("app", "api"), ("tier", "db")])));
    }

    #[test]
    fn match_expressions_follow_the_api_operators() {
        let s = selector(json!({"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["api", "web"]},
            {"key": "track", "operator": "NotIn", "values": ["canary"]},
            {"key": "team", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ]}));
        assert!(selector_matches(&s, &labels(&[("app", "web"), ("team", "a")])));
        assert!(selector_matches(&s, &labels(&[("app", "api"), ("team", "a"), ("track", "stable")])));
        assert!(!selector_matches(&s, &labels(&[("app", "db"), ("team", "a")])), "In");
        assert!(!selector_matches(&s, &labels(&[("app", "api"), ("team", "a"), ("track", "canary")])), "NotIn");
        assert!(!selector_matches(&s, &labels(&[("app", "api")])), "Exists");
        assert!(!selector_matches(&s, &labels(&[("app", "api"), ("team", "a"), ("legacy", "")])), "DoesNotExist");
    }

    #[test]
    fn empty_selects_all_missing_selects_nothing() {
        let empty = selector(json!({}));
        assert!(selector_matches(&empty, &labels(&[("any", "thing")])));
        assert!(optional_selector_matches(Some(&empty), &labels(&[])));
        assert!(!optional_selector_matches(None, &labels(&[("app", "api")])));
    }

    #[test]
    fn unknown_operator_selects_nothing() {
        let s = selector(json!({"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]}));
        assert!(!selector_matches(&s, &labels(&[("app", "2")])));
    }
}
