//! `gate`: the rollout SLO gate, headless. Reads each service's recent logs (every container
//! of every pod) and events, evaluates the profile's log rules and readiness continuity, and
//! prints each check with its evidence. Replaces the seed's `k8s-rollout-slo-check.sh`.

use std::io::Write;
use std::time::Duration;

use color_eyre::Result;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;

use super::args::{Format, GlobalArgs};
use super::snapshot;
use crate::cluster::logs::read_recent;
use crate::exit::{self, Exit};
use crate::model::gate::{GateCheck, passes, rules_for, service_checks};
use crate::model::sanitize::{Sgr, sanitize_bytes};
use crate::model::service::Service;
use crate::model::service_ref::ServiceRef;
use crate::model::slo::LogRecord;

/// Log reads in flight at once: enough to be quick, few enough to be gentle on the API.
const PARALLEL_READS: usize = 8;

pub async fn run(global: &GlobalArgs, wanted: &[String], since: Duration, output: Format) -> Result<Exit> {
    let snap = snapshot::take(global, None).await?;
    let rules = &snap.profile.slo;
    let services = chosen(&snap.services, wanted, &snap.target.connection.namespace, rules)?;
    let window_s = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let mut checks: Vec<GateCheck> = Vec::new();
    let mut invalid_utf8 = 0;
    for service in services {
        let logs = service_logs(&snap.target.connection.client, service, since).await?;
        invalid_utf8 += logs.invalid_utf8;
        let now = jiff::Timestamp::now();
        checks.extend(service_checks(&rules_for(rules, service), service, &logs.records, window_s, now));
    }
    let mut out = std::io::stdout().lock();
    match output {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json(&checks, window_s, invalid_utf8))?)?,
        Format::Table => write!(out, "{}", table(&checks, window_s, invalid_utf8))?,
    }
    out.flush()?;
    Ok(if passes(&checks) { Exit::Ok } else { Exit::Failed })
}

/// `--service` as given, else every service some rule applies to.
fn chosen<'a>(
    services: &'a [Service],
    wanted: &[String],
    default_namespace: &str,
    rules: &[crate::model::slo::SloRule],
) -> Result<Vec<&'a Service>> {
    if !wanted.is_empty() {
        return wanted
            .iter()
            .map(|w| ServiceRef::parse(w).and_then(|r| r.resolve(services, default_namespace)).map_err(exit::usage))
            .collect();
    }
    let with_rules: Vec<&Service> = services.iter().filter(|s| rules.iter().any(|r| r.applies_to(s))).collect();
    if with_rules.is_empty() {
        return Err(exit::usage(
            "no service in scope has SLO rules: add [[slo]] rules to the profile, or name services with --service",
        ));
    }
    Ok(with_rules)
}

/// A service's recent lines, and how many of them were not valid UTF-8.
struct ServiceLogs {
    records: Vec<LogRecord>,
    /// Lines whose invalid bytes were replaced (U+FFFD) before they were judged.
    invalid_utf8: usize,
}

/// Every container's lines of the last `since`, sanitised, oldest first. A line that is
/// not valid UTF-8 is judged with its bad bytes replaced, and counted, as the panes do.
async fn service_logs(client: &kube::Client, service: &Service, since: Duration) -> Result<ServiceLogs> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &service.key.namespace);
    let reads = service.pods.iter().flat_map(|p| p.containers.iter().map(move |c| (p, c)));
    let results: Vec<_> = futures::stream::iter(reads)
        .map(|(pod, container)| {
            let pods = pods.clone();
            async move { (pod, read_recent(&pods, &pod.name, container, since).await) }
        })
        .buffer_unordered(PARALLEL_READS)
        .collect()
        .await;
    let mut records = Vec::new();
    let mut invalid_utf8 = 0;
    for (pod, result) in results {
        let lines = match result {
            Ok(lines) => lines,
            // A container still starting has no log yet (400), a pod just deleted none (404).
            Err(kube::Error::Api(status)) if status.code == 400 || status.code == 404 => Vec::new(),
            Err(e) => {
                let what = format!("reading the logs of pod {} in {}: {e}", pod.name, service.key.namespace);
                return Err(exit::cluster(what));
            }
        };
        invalid_utf8 += lines.iter().filter(|l| std::str::from_utf8(&l.bytes).is_err()).count();
        records.extend(lines.into_iter().map(|l| LogRecord {
            at: l.at,
            pod: pod.name.clone(),
            pod_started: pod.created,
            line: sanitize_bytes(&l.bytes, Sgr::Strip),
            coloured: None,
        }));
    }
    records.sort_by_key(|r| r.at);
    Ok(ServiceLogs { records, invalid_utf8 })
}

fn table(checks: &[GateCheck], window_s: i64, invalid_utf8: usize) -> String {
    let mut out = String::new();
    for c in checks {
        let state = c.state.label();
        out.push_str(&format!("{state}  {}/{}  {}: {}\n", c.service.namespace, c.service.name, c.name, c.detail));
        match (&c.first, &c.last) {
            // One matching line is evidence once, not twice.
            (Some(first), Some(last)) if first == last => {
                out.push_str(&format!("      match {}  {}\n", first.0, first.1))
            }
            (first, last) => {
                if let Some((at, line)) = first {
                    out.push_str(&format!("      first {at}  {line}\n"));
                }
                if let Some((at, line)) = last {
                    out.push_str(&format!("      last  {at}  {line}\n"));
                }
            }
        }
    }
    if invalid_utf8 > 0 {
        out.push_str(&format!(
            "note: {invalid_utf8} log line(s) were not valid UTF-8: judged with the bad bytes replaced (U+FFFD)\n"
        ));
    }
    let verdict = if passes(checks) { "pass" } else { "fail" };
    out.push_str(&format!("gate: {verdict} ({} checks over the last {} min)\n", checks.len(), window_s / 60));
    out
}

/// `{"pass": bool, "since_s", "checks": [{name, service, pass, matches, detail}]}` (CLI.md),
/// plus `namespace`, `state`, `first` and `last` per check, and `invalid_utf8_lines`.
fn json(checks: &[GateCheck], window_s: i64, invalid_utf8: usize) -> serde_json::Value {
    let line = |l: &Option<(jiff::Timestamp, String)>| {
        l.as_ref().map(|(at, text)| serde_json::json!({"at": at.to_string(), "line": text}))
    };
    let rows: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "service": c.service.name,
                "namespace": c.service.namespace,
                "pass": c.pass(),
                "state": c.state,
                "matches": c.matches,
                "detail": c.detail,
                "first": line(&c.first),
                "last": line(&c.last),
            })
        })
        .collect();
    serde_json::json!({"pass": passes(checks), "since_s": window_s, "checks": rows, "invalid_utf8_lines": invalid_utf8})
}
