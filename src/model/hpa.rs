//! The HorizontalPodAutoscaler that targets a workload, in the numbers an operator
//! scales by.

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, MetricSpec, MetricTarget};

use super::sanitize::{Sgr, sanitize};
use super::service::{HpaSummary, WorkloadKind};

/// Whether `hpa` scales the workload `kind/name` (same namespace assumed).
pub fn targets(hpa: &HorizontalPodAutoscaler, kind: WorkloadKind, name: &str) -> bool {
    hpa.spec.scale_target_ref.kind == kind.as_str() && hpa.spec.scale_target_ref.name == name
}

pub fn hpa_summary(hpa: &HorizontalPodAutoscaler) -> HpaSummary {
    let spec = Some(&hpa.spec);
    let status = hpa.status.as_ref();
    HpaSummary {
        name: sanitize(hpa.metadata.name.as_deref().unwrap_or(""), Sgr::Strip).into_owned(),
        // The API defaults minReplicas to 1.
        min: spec.and_then(|s| s.min_replicas).unwrap_or(1),
        max: spec.map_or(0, |s| s.max_replicas),
        current: status.and_then(|s| s.current_replicas).unwrap_or(0),
        desired: status.map_or(0, |s| s.desired_replicas),
        targets: spec.and_then(|s| s.metrics.as_ref()).into_iter().flatten().map(metric_in_words).collect(),
        resource_version: hpa.metadata.resource_version.clone(),
    }
}

/// `cpu 70%`, `memory 512Mi`, `requests_per_second 100 (pods)`.
fn metric_in_words(metric: &MetricSpec) -> String {
    let text = if let Some(r) = &metric.resource {
        format!("{} {}", r.name, target(&r.target))
    } else if let Some(r) = &metric.container_resource {
        format!("{} {} ({})", r.name, target(&r.target), r.container)
    } else if let Some(p) = &metric.pods {
        format!("{} {} (pods)", p.metric.name, target(&p.target))
    } else if let Some(o) = &metric.object {
        format!("{} {} ({}/{})", o.metric.name, target(&o.target), o.described_object.kind, o.described_object.name)
    } else if let Some(e) = &metric.external {
        format!("{} {} (external)", e.metric.name, target(&e.target))
    } else {
        metric.type_.clone()
    };
    sanitize(&text, Sgr::Strip).into_owned()
}

fn target(t: &MetricTarget) -> String {
    if let Some(u) = t.average_utilization {
        format!("{u}%")
    } else if let Some(v) = &t.average_value {
        format!("{} avg", v.0)
    } else if let Some(v) = &t.value {
        v.0.clone()
    } else {
        t.type_.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounds_targets_and_defaults() {
        let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
            "metadata": {"name": "app"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "app"}, "maxReplicas": 10, "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
                {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "100"}}},
            ]},
            "status": {"currentReplicas": 3, "desiredReplicas": 4},
        }))
        .unwrap();
        let h = hpa_summary(&hpa);
        assert_eq!((h.min, h.max, h.current, h.desired), (1, 10, 3, 4));
        assert_eq!(h.targets, ["cpu 70%", "rps 100 avg (pods)"]);
        assert!(targets(&hpa, WorkloadKind::Deployment, "app"));
        assert!(!targets(&hpa, WorkloadKind::StatefulSet, "app"));
        assert!(!targets(&hpa, WorkloadKind::Deployment, "web"));
    }
}
