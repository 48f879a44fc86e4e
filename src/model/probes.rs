//! Probe configuration per container, with the defaults Kubernetes applies and the grace
//! budget an operator reasons with: how long a slow start may take before the kubelet
//! restarts the container, and how long a failing check takes to become a verdict.

use k8s_openapi::api::core::v1::{Container, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::sanitize::{Sgr, cut_for_display, sanitize};
use super::service::{ProbeKind, ProbeSummary};

/// API defaults (`SetDefaults_Probe`).
pub const DEFAULT_PERIOD_S: i32 = 10;
pub const DEFAULT_TIMEOUT_S: i32 = 1;
pub const DEFAULT_FAILURE_THRESHOLD: i32 = 3;

/// Exec commands can be whole shell scripts; the summary keeps the start.
const MAX_HANDLER_CHARS: usize = 60;

/// Every probe of every app container, in container order, startup/readiness/liveness.
pub fn probe_summaries(spec: Option<&PodSpec>) -> Vec<ProbeSummary> {
    spec.map(|s| s.containers.iter().flat_map(container_probes).collect()).unwrap_or_default()
}

fn container_probes(container: &Container) -> Vec<ProbeSummary> {
    [
        (ProbeKind::Startup, container.startup_probe.as_ref()),
        (ProbeKind::Readiness, container.readiness_probe.as_ref()),
        (ProbeKind::Liveness, container.liveness_probe.as_ref()),
    ]
    .into_iter()
    .filter_map(|(kind, probe)| probe.map(|p| summarize(&container.name, kind, p)))
    .collect()
}

pub fn summarize(container: &str, kind: ProbeKind, probe: &Probe) -> ProbeSummary {
    let initial_delay_s = probe.initial_delay_seconds.unwrap_or(0);
    let period_s = probe.period_seconds.unwrap_or(DEFAULT_PERIOD_S);
    let failure_threshold = probe.failure_threshold.unwrap_or(DEFAULT_FAILURE_THRESHOLD);
    ProbeSummary {
        container: sanitize(container, Sgr::Strip).into_owned(),
        probe: kind,
        handler: handler(probe),
        initial_delay_s,
        period_s,
        timeout_s: probe.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_S),
        failure_threshold,
        grace_s: grace_budget(kind, initial_delay_s, period_s, failure_threshold),
    }
}

/// Startup: the container must pass within initialDelay + failureThreshold x period
/// (48 x 5 s = 240 s) or it is restarted. Readiness and liveness: from the first failed
/// check, failureThreshold x period until the pod is marked unready or restarted.
pub fn grace_budget(kind: ProbeKind, initial_delay_s: i32, period_s: i32, failure_threshold: i32) -> i32 {
    let checks = failure_threshold.saturating_mul(period_s);
    match kind {
        ProbeKind::Startup => initial_delay_s.saturating_add(checks),
        ProbeKind::Readiness | ProbeKind::Liveness => checks,
    }
}

/// The check in one phrase: `HTTP GET /health/ready :3006`, `TCP :5432`,
/// `exec pg_isready -U app`, `gRPC :9090`.
pub fn handler(probe: &Probe) -> String {
    let text = if let Some(http) = &probe.http_get {
        let scheme = http.scheme.as_deref().unwrap_or("HTTP").to_uppercase();
        let path = http.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
        format!("{scheme} GET {path} :{}", port(&http.port))
    } else if let Some(tcp) = &probe.tcp_socket {
        format!("TCP :{}", port(&tcp.port))
    } else if let Some(exec) = &probe.exec {
        format!("exec {}", exec.command.as_deref().unwrap_or_default().join(" "))
    } else if let Some(grpc) = &probe.grpc {
        match grpc.service.as_deref().filter(|s| !s.is_empty()) {
            Some(service) => format!("gRPC :{} {service}", grpc.port),
            None => format!("gRPC :{}", grpc.port),
        }
    } else {
        "no handler".to_string()
    };
    let clean = sanitize(&text, Sgr::Strip);
    cut_for_display(&clean, MAX_HANDLER_CHARS).into_owned()
}

fn port(port: &IntOrString) -> String {
    match port {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(name) => name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> PodSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn seed_startup_grace_is_48_times_5_seconds() {
        // honeydue api: startupProbe failureThreshold 48, periodSeconds 5 → 240 s.
        let s = spec(json!({"containers": [{
            "name": "api",
            "startupProbe": {"httpGet": {"path": "/api/health/", "port": 8000}, "failureThreshold": 48, "periodSeconds": 5},
            "readinessProbe": {"httpGet": {"path": "/api/health/", "port": 8000}, "initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 5},
            "livenessProbe": {"httpGet": {"path": "/api/health/", "port": 8000}, "initialDelaySeconds": 30, "periodSeconds": 30, "timeoutSeconds": 10},
        }]}));
        let probes = probe_summaries(Some(&s));
        let kinds: Vec<_> = probes.iter().map(|p| p.probe).collect();
        assert_eq!(kinds, [ProbeKind::Startup, ProbeKind::Readiness, ProbeKind::Liveness]);
        assert_eq!(probes[0].grace_s, 240);
        assert_eq!(probes[0].handler, "HTTP GET /api/health/ :8000");
        assert_eq!(probes[1].grace_s, 30, "3 failures x 10 s");
        assert_eq!(probes[1].timeout_s, 5);
        assert_eq!(probes[2].grace_s, 90, "3 failures x 30 s");
    }

    #[test]
    fn startup_grace_includes_initial_delay() {
        assert_eq!(grace_budget(ProbeKind::Startup, 10, 5, 48), 250);
        assert_eq!(grace_budget(ProbeKind::Liveness, 10, 5, 48), 240);
    }

    #[test]
    fn kubernetes_defaults_apply() {
        let s = spec(json!({"containers": [{"name": "pg", "readinessProbe": {"tcpSocket": {"port": 5432}}}]}));
        let p = &probe_summaries(Some(&s))[0];
        assert_eq!((p.initial_delay_s, p.period_s, p.timeout_s, p.failure_threshold), (0, 10, 1, 3));
        assert_eq!(p.grace_s, 30);
        assert_eq!(p.handler, "TCP :5432");
    }

    #[test]
    fn handlers_read_like_an_operator_says_them() {
        let s = spec(json!({"containers": [
            {"name": "a", "livenessProbe": {"exec": {"command": ["pg_isready", "-U", "app"]}}},
            {"name": "b", "livenessProbe": {"grpc": {"port": 9090}}},
            {"name": "c", "livenessProbe": {"httpGet": {"port": "http", "scheme": "HTTPS"}}},
            {"name": "d", "livenessProbe": {"grpc": {"port": 9090, "service": "health"}}},
        ]}));
        let handlers: Vec<_> = probe_summaries(Some(&s)).into_iter().map(|p| p.handler).collect();
        assert_eq!(handlers, ["exec pg_isready -U app", "gRPC :9090", "HTTPS GET / :http", "gRPC :9090 health"]);
    }

    #[test]
    fn handler_text_is_sanitized_and_cut() {
        let long = "x".repeat(200);
        let s = spec(
            json!({"containers": [{"name": "a\u{1b}]0;pwn\u{7}", "livenessProbe": {"exec": {"command": ["sh", "-c", format!("\u{1b}[2J{long}")]}}}]}),
        );
        let p = &probe_summaries(Some(&s))[0];
        assert!(!p.handler.contains('\u{1b}'));
        assert!(p.handler.ends_with(super::super::sanitize::CUT_MARKER));
        assert!(p.handler.chars().count() <= MAX_HANDLER_CHARS + super::super::sanitize::CUT_MARKER.chars().count());
        assert_eq!(p.container, "a");
    }
}
