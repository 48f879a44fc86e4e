//! The rollout gate: the SLO log rules of each service, evaluated over its recent logs, and
//! the seed's readiness-continuity check (the rollout completed, every replica is ready, and
//! readiness did not keep failing). Pure: the logs and `now` are passed in.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::sanitize::cut_for_display;
use super::service::{RolloutState, Service, ServiceKey};
use super::slo::{self, GateState, LogRecord, RuleVerdict, SloCounts, SloRule};

/// Readiness probe failures in the window at which readiness counts as flapping.
const READINESS_FAILURES_FAIL: i32 = 3;

/// Evidence lines (a check's first and last matching line) are cut to this many
/// characters: a 1 MB log line must not become a 1 MB gate report or run-state file.
pub const EVIDENCE_MAX_CHARS: usize = 400;

/// One check of the gate, for one service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateCheck {
    pub name: String,
    #[serde(skip)]
    pub service: ServiceKey,
    pub state: GateState,
    pub matches: u32,
    pub detail: String,
    pub first: Option<(Timestamp, String)>,
    pub last: Option<(Timestamp, String)>,
}

impl GateCheck {
    pub fn pass(&self) -> bool {
        self.state != GateState::Fail
    }
}

/// The rules that apply to `service`.
pub fn rules_for<'r>(rules: &'r [SloRule], service: &Service) -> Vec<&'r SloRule> {
    rules.iter().filter(|r| r.applies_to(service)).collect()
}

/// Every check for `service`: one per rule, then readiness continuity. The gate's window
/// replaces each rule's own (`gate --since 15m` is the seed's `kubectl logs --since=15m`).
pub fn service_checks(
    rules: &[&SloRule],
    service: &Service,
    records: &[LogRecord],
    window_s: i64,
    now: Timestamp,
) -> Vec<GateCheck> {
    let mut checks = rule_checks(rules, service, records, window_s, now);
    checks.push(readiness_continuity(service, window_s, now));
    checks
}

/// One check per log rule, each judged over the last `window_s` (in place of the rule's
/// own window): the gate's and the runbooks' slo-clean gates' one implementation.
pub fn rule_checks(
    rules: &[&SloRule],
    service: &Service,
    records: &[LogRecord],
    window_s: i64,
    now: Timestamp,
) -> Vec<GateCheck> {
    rules
        .iter()
        .map(|rule| {
            let rule = SloRule { window_s, ..(*rule).clone() };
            from_verdict(slo::evaluate(&rule, records, now), service)
        })
        .collect()
}

/// [`rule_checks`] from counts kept while following logs (a runbook's slo-clean gate):
/// exact however many lines arrived, each rule judged over `window_s`.
pub fn counted_checks(counts: &SloCounts, service: &Service, window_s: i64, now: Timestamp) -> Vec<GateCheck> {
    counts.verdicts_over(window_s, now).into_iter().map(|v| from_verdict(v, service)).collect()
}

fn from_verdict(v: RuleVerdict, service: &Service) -> GateCheck {
    // A Warning-severity rule that fails holds the rollout at warn, it does not fail it.
    let state = slo::gate(std::slice::from_ref(&v));
    GateCheck {
        name: v.rule,
        service: service.key.clone(),
        state,
        matches: v.matches,
        detail: v.detail,
        first: v.first.map(evidence),
        last: v.last.map(evidence),
    }
}

/// An evidence line cut to [`EVIDENCE_MAX_CHARS`], marked `…[cut]` when it was.
fn evidence((at, line): (Timestamp, String)) -> (Timestamp, String) {
    (at, cut_for_display(&line, EVIDENCE_MAX_CHARS).into_owned())
}

/// The seed: "rollout status must complete and get pods must show ready replicas without
/// prolonged 0/1 readiness".
pub fn readiness_continuity(s: &Service, window_s: i64, now: Timestamp) -> GateCheck {
    let since = now.checked_sub(SignedDuration::from_secs(window_s)).unwrap_or(Timestamp::MIN);
    let failures: Vec<_> = s
        .events
        .iter()
        .filter(|e| e.reason == "Unhealthy" && e.message.contains("Readiness probe failed"))
        .filter(|e| e.last_seen.is_some_and(|t| t >= since))
        .collect();
    let failed: i32 = failures.iter().map(|e| e.count.max(1)).fold(0, i32::saturating_add);
    let r = s.replicas;
    let (state, detail) = if s.rollout.state == RolloutState::Stalled {
        (GateState::Fail, format!("rollout stalled: {}", s.rollout.message))
    } else if s.pods_summary.flapping > 0 || failed >= READINESS_FAILURES_FAIL {
        (GateState::Fail, format!("readiness flapping: {failed} readiness probe failure(s) in the window"))
    } else if s.rollout.state != RolloutState::Complete {
        (GateState::Warn, format!("rollout {}: {}", s.rollout.state.as_str(), s.rollout.message))
    } else if r.ready < r.desired {
        (GateState::Fail, format!("{} of {} replicas ready after the rollout completed", r.ready, r.desired))
    } else {
        (
            GateState::Pass,
            format!("rollout complete, {} of {} ready, {failed} readiness failure(s)", r.ready, r.desired),
        )
    };
    let newest =
        failures.iter().max_by_key(|e| e.last_seen).and_then(|e| Some(evidence((e.last_seen?, e.message.clone()))));
    GateCheck {
        name: "readiness-continuity".into(),
        service: s.key.clone(),
        state,
        matches: u32::try_from(failed).unwrap_or(0),
        detail,
        first: None,
        last: newest,
    }
}

/// The gate passes when no check fails.
pub fn passes(checks: &[GateCheck]) -> bool {
    checks.iter().all(GateCheck::pass)
}
