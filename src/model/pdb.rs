//! PodDisruptionBudget headroom: how many voluntary disruptions (drains, evictions) the
//! budget allows right now, and the arithmetic in words. The disruption controller's
//! status is the truth when it has been written; otherwise the same arithmetic is done
//! here, with the controller's rules (`getExpectedPodCount`, `updatePdbStatus`):
//! - `minAvailable: N` → N must stay healthy, expected pods = pods the selector matches;
//! - `minAvailable: P%` → ceil(P% of the controllers' scale) must stay healthy;
//! - `maxUnavailable: N|P%` → scale − N (or − ceil(P% of scale)) must stay healthy;
//! - allowed = healthy − desired healthy, never below 0, and 0 when no pods are expected.
//!
//! Both percentages round up (`GetScaledValueFromIntOrPercent(…, true)` in the
//! controller), so `maxUnavailable: 50%` of 3 replicas allows 2 unavailable.

use std::cmp::Reverse;

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::sanitize::{Sgr, sanitize};
use super::service::PdbHeadroom;

/// What the model knows about the pods a PDB covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Pods the PDB's selector matches.
    pub selected_pods: i32,
    /// Of those, Ready and not being deleted.
    pub healthy_pods: i32,
    /// The desired replicas of the workloads that own those pods.
    pub controller_scale: i32,
}

/// The budget's headroom: from its status when the disruption controller has written
/// one, else computed from its spec over `coverage`.
pub fn pdb_headroom(pdb: &PodDisruptionBudget, coverage: Coverage) -> PdbHeadroom {
    let spec = pdb.spec.as_ref();
    let min = spec.and_then(|s| s.min_available.as_ref());
    let max = spec.and_then(|s| s.max_unavailable.as_ref());
    let budget = match pdb.status.as_ref().filter(|s| s.observed_generation.is_some()) {
        Some(s) => Budget {
            expected: s.expected_pods.unwrap_or(0),
            desired_healthy: s.desired_healthy.unwrap_or(0),
            current_healthy: s.current_healthy.unwrap_or(0),
            disruptions_allowed: s.disruptions_allowed.unwrap_or(0),
        },
        None => budget_from_spec(min, max, coverage),
    };
    PdbHeadroom {
        name: sanitize(pdb.metadata.name.as_deref().unwrap_or(""), Sgr::Strip).into_owned(),
        min_available: min.map(int_or_percent_text),
        max_unavailable: max.map(int_or_percent_text),
        current_healthy: budget.current_healthy,
        desired_healthy: budget.desired_healthy,
        disruptions_allowed: budget.disruptions_allowed,
        expected_pods: budget.expected,
        explanation: explain(min, max, &budget),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Budget {
    expected: i32,
    desired_healthy: i32,
    current_healthy: i32,
    disruptions_allowed: i32,
}

fn budget_from_spec(min: Option<&IntOrString>, max: Option<&IntOrString>, coverage: Coverage) -> Budget {
    let scale = coverage.controller_scale;
    let (expected, desired_healthy) = match (max, min) {
        (Some(max), _) => (scale, scaled_up(max, scale).map(|m| scale.saturating_sub(m).max(0))),
        (None, Some(IntOrString::Int(n))) => (coverage.selected_pods, Some(*n)),
        (None, Some(min)) => (scale, scaled_up(min, scale)),
        (None, None) => (0, Some(0)),
    };
    let current_healthy = coverage.healthy_pods;
    // A value the controller cannot read makes it refuse every disruption: so do we.
    let Some(desired_healthy) = desired_healthy else {
        return Budget { expected, desired_healthy: expected, current_healthy, disruptions_allowed: 0 };
    };
    let allowed = current_healthy.saturating_sub(desired_healthy);
    let disruptions_allowed = if expected <= 0 || allowed <= 0 { 0 } else { allowed };
    Budget { expected, desired_healthy, current_healthy, disruptions_allowed }
}

/// An int, or a percentage of `total` rounded up; `None` for a string that is not a
/// percentage.
pub fn scaled_up(value: &IntOrString, total: i32) -> Option<i32> {
    match value {
        IntOrString::Int(n) => Some(*n),
        IntOrString::String(s) => {
            let percent = s.strip_suffix('%')?.trim().parse::<i64>().ok()?;
            // `100000000000%` is a typo, not a reason to wrap round to a negative count.
            let scaled = percent.saturating_mul(i64::from(total)).saturating_add(99) / 100;
            Some(i32::try_from(scaled).unwrap_or(if scaled < 0 { i32::MIN } else { i32::MAX }))
        }
    }
}

/// The budget as it would be with `replicas` pods, all healthy: what a scale would do to
/// the headroom (a scale-down can leave the budget allowing nothing, or unsatisfiable).
pub fn headroom_if_scaled(current: &PdbHeadroom, replicas: i32) -> PdbHeadroom {
    let parse = |text: &Option<String>| text.as_deref().map(int_or_percent_from_text);
    let (min, max) = (parse(&current.min_available), parse(&current.max_unavailable));
    let coverage = Coverage { selected_pods: replicas, healthy_pods: replicas, controller_scale: replicas };
    let budget = budget_from_spec(min.as_ref(), max.as_ref(), coverage);
    PdbHeadroom {
        current_healthy: budget.current_healthy,
        desired_healthy: budget.desired_healthy,
        disruptions_allowed: budget.disruptions_allowed,
        expected_pods: budget.expected,
        explanation: explain(min.as_ref(), max.as_ref(), &budget),
        ..current.clone()
    }
}

fn int_or_percent_from_text(text: &str) -> IntOrString {
    text.parse().map(IntOrString::Int).unwrap_or_else(|_| IntOrString::String(text.to_string()))
}

pub fn int_or_percent_text(value: &IntOrString) -> String {
    match value {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => sanitize(s, Sgr::Strip).into_owned(),
    }
}

fn explain(min: Option<&IntOrString>, max: Option<&IntOrString>, b: &Budget) -> String {
    let verdict = allowed_in_words(b.disruptions_allowed);
    let healthy = b.current_healthy;
    match (max, min) {
        (Some(max), _) => format!(
            "maxUnavailable {} of {} expected → {} must stay healthy; {healthy} healthy → {verdict}",
            int_or_percent_text(max),
            b.expected,
            b.desired_healthy
        ),
        (None, Some(IntOrString::Int(n))) => format!("minAvailable {n} of {healthy} healthy → {verdict}"),
        (None, Some(min)) => format!(
            "minAvailable {} of {} expected = {}; {healthy} healthy → {verdict}",
            int_or_percent_text(min),
            b.expected,
            b.desired_healthy
        ),
        (None, None) => format!("neither minAvailable nor maxUnavailable set → {verdict}"),
    }
}

fn allowed_in_words(allowed: i32) -> String {
    match allowed {
        0 => "no voluntary disruption allowed".to_string(),
        1 => "1 voluntary disruption allowed".to_string(),
        n => format!("{n} voluntary disruptions allowed"),
    }
}

/// When several budgets cover the same pods, every eviction must satisfy all of them:
/// the one allowing the fewest disruptions governs (then the one demanding most).
pub fn most_restrictive(budgets: Vec<PdbHeadroom>) -> Option<PdbHeadroom> {
    budgets.into_iter().min_by_key(|h| (h.disruptions_allowed, Reverse(h.desired_healthy), h.name.clone()))
}

/// `minAvailable: 0`: the budget explicitly allows the only pod to go (the seeds'
/// singleton worker).
pub fn allows_everything(headroom: &PdbHeadroom) -> bool {
    matches!(headroom.min_available.as_deref(), Some("0") | Some("0%"))
}

/// Every voluntary disruption is blocked although every expected pod is healthy: a node
/// drain will hang on this budget (minAvailable == replicas, maxUnavailable 0).
pub fn blocks_every_disruption(headroom: &PdbHeadroom) -> bool {
    headroom.disruptions_allowed == 0
        && headroom.expected_pods > 0
        && headroom.current_healthy >= headroom.expected_pods
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pdb(v: serde_json::Value) -> PodDisruptionBudget {
        serde_json::from_value(json!({"metadata": {"name": "web-pdb"}, "spec": v})).unwrap()
    }

    fn cover(selected: i32, healthy: i32, scale: i32) -> Coverage {
        Coverage { selected_pods: selected, healthy_pods: healthy, controller_scale: scale }
    }

    #[test]
    fn huge_percentages_and_counts_saturate_instead_of_wrapping() {
        let percent = |p: &str| IntOrString::String(p.into());
        assert_eq!(scaled_up(&percent("100000000000%"), 1_000_000), Some(i32::MAX));
        assert_eq!(scaled_up(&percent("-100000000000%"), 1_000_000), Some(i32::MIN));
        // maxUnavailable of i32::MIN on a scale of 3: the arithmetic must not overflow.
        let h = pdb_headroom(&pdb(json!({"maxUnavailable": i32::MIN})), cover(3, 3, 3));
        assert_eq!(h.disruptions_allowed, 0);
        let h = pdb_headroom(&pdb(json!({"minAvailable": i32::MIN})), cover(3, 3, 3));
        assert!(h.disruptions_allowed >= 0);
    }

    #[test]
    fn seed_min_available_2_of_3() {
        let h = pdb_headroom(&pdb(json!({"minAvailable": 2})), cover(3, 3, 3));
        assert_eq!((h.current_healthy, h.desired_healthy, h.disruptions_allowed), (3, 2, 1));
        assert_eq!(h.explanation, "minAvailable 2 of 3 healthy → 1 voluntary disruption allowed");
        assert!(!blocks_every_disruption(&h));
    }

    #[test]
    fn seed_singleton_worker_min_available_0() {
        let h = pdb_headroom(&pdb(json!({"minAvailable": 0})), cover(1, 1, 1));
        assert_eq!(h.disruptions_allowed, 1);
        assert!(allows_everything(&h));
        assert_eq!(h.explanation, "minAvailable 0 of 1 healthy → 1 voluntary disruption allowed");
    }

    #[test]
    fn min_available_equal_to_replicas_blocks_drains() {
        let h = pdb_headroom(&pdb(json!({"minAvailable": 1})), cover(1, 1, 1));
        assert_eq!(h.disruptions_allowed, 0);
        assert!(blocks_every_disruption(&h));
        assert_eq!(h.explanation, "minAvailable 1 of 1 healthy → no voluntary disruption allowed");
        // One pod down is not "blocking while healthy": the budget is doing its job.
        let degraded = pdb_headroom(&pdb(json!({"minAvailable": 2})), cover(3, 2, 3));
        assert_eq!(degraded.disruptions_allowed, 0);
        assert!(!blocks_every_disruption(&degraded));
    }

    #[test]
    fn max_unavailable_percentage_rounds_up_like_the_controller() {
        // 25% of 3 = 0.75 → 1 may be unavailable → 2 must stay healthy.
        let h = pdb_headroom(&pdb(json!({"maxUnavailable": "25%"})), cover(3, 3, 3));
        assert_eq!((h.desired_healthy, h.disruptions_allowed, h.expected_pods), (2, 1, 3));
        assert_eq!(h.max_unavailable.as_deref(), Some("25%"));
        assert_eq!(
            h.explanation,
            "maxUnavailable 25% of 3 expected → 2 must stay healthy; 3 healthy → 1 voluntary disruption allowed"
        );
        // 50% of 3 = 1.5 → 2 unavailable.
        let h = pdb_headroom(&pdb(json!({"maxUnavailable": "50%"})), cover(3, 3, 3));
        assert_eq!((h.desired_healthy, h.disruptions_allowed), (1, 2));
        let zero = pdb_headroom(&pdb(json!({"maxUnavailable": 0})), cover(3, 3, 3));
        assert!(blocks_every_disruption(&zero));
    }

    #[test]
    fn min_available_percentage_uses_the_scale_and_rounds_up() {
        // 50% of 7 = 3.5 → 4 must stay available (the Kubernetes docs' example).
        let h = pdb_headroom(&pdb(json!({"minAvailable": "50%"})), cover(7, 7, 7));
        assert_eq!((h.desired_healthy, h.disruptions_allowed), (4, 3));
        assert_eq!(h.explanation, "minAvailable 50% of 7 expected = 4; 7 healthy → 3 voluntary disruptions allowed");
    }

    #[test]
    fn zero_replicas_allow_nothing() {
        let h = pdb_headroom(&pdb(json!({"maxUnavailable": 1})), cover(0, 0, 0));
        assert_eq!((h.expected_pods, h.disruptions_allowed), (0, 0));
        assert!(!blocks_every_disruption(&h));
        let h = pdb_headroom(&pdb(json!({"minAvailable": 0})), cover(0, 0, 0));
        assert_eq!(h.disruptions_allowed, 0);
    }

    #[test]
    fn status_wins_over_spec_arithmetic() {
        let p: PodDisruptionBudget = serde_json::from_value(json!({
            "metadata": {"name": "api-pdb"},
            "spec": {"minAvailable": 2},
            "status": {"observedGeneration": 1, "currentHealthy": 4, "desiredHealthy": 2, "disruptionsAllowed": 2, "expectedPods": 4},
        }))
        .unwrap();
        let h = pdb_headroom(&p, cover(3, 3, 3));
        assert_eq!((h.current_healthy, h.disruptions_allowed, h.expected_pods), (4, 2, 4));
    }

    #[test]
    fn malformed_percentage_allows_nothing() {
        let h = pdb_headroom(&pdb(json!({"maxUnavailable": "lots"})), cover(3, 3, 3));
        assert_eq!(h.disruptions_allowed, 0);
    }

    #[test]
    fn most_restrictive_budget_governs() {
        let loose = pdb_headroom(&pdb(json!({"maxUnavailable": 2})), cover(3, 3, 3));
        let mut tight = pdb_headroom(&pdb(json!({"minAvailable": 3})), cover(3, 3, 3));
        tight.name = "tight".into();
        assert_eq!(most_restrictive(vec![loose, tight]).unwrap().name, "tight");
        assert_eq!(most_restrictive(Vec::new()), None);
    }
}

#[cfg(test)]
mod scaling_tests {
    use super::*;

    fn headroom(min: Option<&str>, max: Option<&str>, replicas: i32) -> PdbHeadroom {
        let base = PdbHeadroom {
            name: "pdb".into(),
            min_available: min.map(String::from),
            max_unavailable: max.map(String::from),
            current_healthy: 0,
            desired_healthy: 0,
            disruptions_allowed: 0,
            expected_pods: 0,
            explanation: String::new(),
        };
        headroom_if_scaled(&base, replicas)
    }

    #[test]
    fn scaling_changes_the_headroom_as_the_disruption_controller_would() {
        // The seeds' web: minAvailable 2 of 3 → 1 allowed; scaled to 2 → none.
        assert_eq!(headroom(Some("2"), None, 3).disruptions_allowed, 1);
        let down = headroom(Some("2"), None, 2);
        assert_eq!(down.disruptions_allowed, 0);
        assert!(down.explanation.contains("no voluntary disruption allowed"), "{}", down.explanation);
        // Below minAvailable the budget cannot be met at all.
        let below = headroom(Some("2"), None, 1);
        assert_eq!((below.desired_healthy, below.disruptions_allowed), (2, 0));
        // Percentages follow the replicas: 25% of 8 rounds up to 2.
        assert_eq!(headroom(None, Some("25%"), 8).disruptions_allowed, 2);
        assert_eq!(headroom(Some("50%"), None, 5).disruptions_allowed, 2);
    }
}
