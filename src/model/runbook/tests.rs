use jiff::Timestamp;

use super::*;
use crate::model::gate::GateCheck;
use crate::model::service::{PdbHeadroom, Service, ServiceKey, WorkloadKind};
use crate::model::slo::GateState;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn evidence(service: Option<&Service>, started: i64, now: i64) -> GateEvidence<'_> {
    GateEvidence {
        service,
        started: at(started),
        steady_since: None,
        slo: None,
        budget: None,
        node_pods: None,
        now: at(now),
    }
}

fn gate_rollout(timeout_s: i64) -> Gate {
    Gate::RolloutComplete { service: "api".into(), timeout_s }
}

#[test]
fn rollout_complete_waits_passes_fails_on_stall_and_times_out() {
    let mut s = Service::example("shop", "api", 3);
    assert_eq!(
        evaluate(&gate_rollout(60), &evidence(Some(&s), 0, 5)),
        GateStatus::Passed("rollout complete, 3/3 ready".into())
    );
    s.rollout.state = RolloutState::Progressing;
    s.rollout.message = "2 of 3 updated replicas are available".into();
    s.replicas.ready = 2;
    let waiting = evaluate(&gate_rollout(60), &evidence(Some(&s), 0, 59));
    assert_eq!(waiting, GateStatus::Waiting("2/3 ready; 2 of 3 updated replicas are available".into()));
    let late = evaluate(&gate_rollout(60), &evidence(Some(&s), 0, 60));
    assert_eq!(
        late,
        GateStatus::Failed("timed out after 1 m: 2/3 ready; 2 of 3 updated replicas are available".into())
    );
    s.rollout.state = RolloutState::Stalled;
    s.rollout.message = "ProgressDeadlineExceeded".into();
    assert_eq!(
        evaluate(&gate_rollout(60), &evidence(Some(&s), 0, 1)),
        GateStatus::Failed("rollout stalled: ProgressDeadlineExceeded".into())
    );
    let gone = evaluate(&gate_rollout(60), &evidence(None, 0, 1));
    assert_eq!(gone, GateStatus::Waiting("api is not in the cluster".into()));
}

#[test]
fn ready_stable_counts_from_the_last_interruption() {
    let mut s = Service::example("shop", "api", 3);
    let gate = Gate::ReadyStable { service: "api".into(), for_s: 120, timeout_s: 600 };
    let since = steady_since(None, Some(&s), at(10));
    assert_eq!(since, Some(at(10)));
    assert_eq!(steady_since(since, Some(&s), at(50)), Some(at(10)), "kept while steady");
    let e = GateEvidence { steady_since: since, ..evidence(Some(&s), 0, 50) };
    assert_eq!(evaluate(&gate, &e), GateStatus::Waiting("3/3 ready, stable 40 s of 2 m".into()));
    let e = GateEvidence { steady_since: since, ..evidence(Some(&s), 0, 130) };
    assert_eq!(evaluate(&gate, &e), GateStatus::Passed("3/3 ready, stable 2 m of 2 m".into()));
    s.replicas.ready = 2;
    assert_eq!(steady_since(since, Some(&s), at(60)), None, "a replica going unready restarts the clock");
    assert_eq!(steady_since(None, None, at(60)), None);
}

fn check(state: GateState, matches: u32) -> GateCheck {
    GateCheck {
        name: "reconnect".into(),
        service: ServiceKey {
            namespace: "shop".into(),
            name: "api".into(),
            kind: WorkloadKind::Deployment,
            cluster: None,
        },
        state,
        matches,
        detail: format!("{matches} matches in 15 m"),
        first: None,
        last: (matches > 0).then(|| (at(0), "[SLO] latency 9000ms exceeded target".to_string())),
    }
}

#[test]
fn slo_clean_fails_at_once_and_passes_after_watching() {
    let s = Service::example("shop", "api", 3);
    let gate = Gate::SloClean {
        service: "api".into(),
        rules: vec![],
        window_s: 300,
        for_s: 60,
        timeout_s: 600,
        required: false,
    };
    let clean = [check(GateState::Pass, 0)];
    let e = GateEvidence { slo: Some(&clean), ..evidence(Some(&s), 0, 20) };
    assert_eq!(evaluate(&gate, &e), GateStatus::Waiting("SLO: 0 matches in 5 m, watched 20 s of 1 m".into()));
    let e = GateEvidence { slo: Some(&clean), ..evidence(Some(&s), 0, 60) };
    assert!(matches!(evaluate(&gate, &e), GateStatus::Passed(_)));
    let warned = [check(GateState::Warn, 2)];
    let e = GateEvidence { slo: Some(&warned), ..evidence(Some(&s), 0, 61) };
    assert_eq!(
        evaluate(&gate, &e),
        GateStatus::Passed("SLO: 2 matches in 5 m, watched 1 m of 1 m".into()),
        "warn is shown, not held"
    );
    let failed = [check(GateState::Pass, 0), check(GateState::Fail, 4)];
    let e = GateEvidence { slo: Some(&failed), ..evidence(Some(&s), 0, 5) };
    assert_eq!(
        evaluate(&gate, &e),
        GateStatus::Failed("reconnect: 4 matches in 15 m — last: [SLO] latency 9000ms exceeded target".into())
    );
}

#[test]
fn pdb_and_budget_gates_fail_when_they_cannot_be_judged() {
    let mut s = Service::example("shop", "api", 3);
    let pdb_gate = Gate::PdbAllows { service: "api".into(), at_least: 1, timeout_s: 0 };
    assert_eq!(
        evaluate(&pdb_gate, &evidence(Some(&s), 0, 0)),
        GateStatus::Failed("no PodDisruptionBudget selects the pods of api".into())
    );
    s.pdb = Some(PdbHeadroom {
        name: "api".into(),
        min_available: Some("3".into()),
        max_unavailable: None,
        current_healthy: 3,
        desired_healthy: 3,
        disruptions_allowed: 0,
        expected_pods: 3,
        explanation: "minAvailable 3 of 3 healthy → 0 allowed".into(),
    });
    assert_eq!(
        evaluate(&pdb_gate, &evidence(Some(&s), 0, 0)),
        GateStatus::Failed(
            "timed out after 0 s: api: 0 allowed, needs 1 (minAvailable 3 of 3 healthy → 0 allowed)".into()
        )
    );
    s.pdb.as_mut().unwrap().disruptions_allowed = 1;
    assert_eq!(evaluate(&pdb_gate, &evidence(Some(&s), 0, 0)), GateStatus::Passed("api: 1 allowed".into()));
    let budget_gate = Gate::BudgetBelow { service: "api".into(), percent: 80, timeout_s: 0 };
    assert!(
        matches!(evaluate(&budget_gate, &evidence(Some(&s), 0, 0)), GateStatus::Failed(m) if m.contains("no connection budget"))
    );
}

#[test]
fn increments_approach_the_target_from_either_side() {
    assert_eq!(next_increment(2, 6, Some(2)), 4);
    assert_eq!(next_increment(5, 6, Some(2)), 6);
    assert_eq!(next_increment(6, 2, Some(3)), 3);
    assert_eq!(next_increment(1, 4, None), 4);
    assert_eq!(next_increment(4, 4, Some(1)), 4);
}

#[test]
fn durations_read_as_an_operator_says_them() {
    assert_eq!(duration_words(45), "45 s");
    assert_eq!(duration_words(300), "5 m");
    assert_eq!(duration_words(90), "1 m 30 s");
}

#[test]
fn slo_clean_with_no_rule_to_judge_is_skipped_not_passed_and_fails_when_required() {
    let s = Service::example("shop", "api", 3);
    let gate = Gate::SloClean {
        service: "api".into(),
        rules: vec![],
        window_s: 300,
        for_s: 60,
        timeout_s: 600,
        required: false,
    };
    let e = GateEvidence { slo: Some(&[][..]), ..evidence(Some(&s), 0, 0) };
    let status = evaluate(&gate, &e);
    assert_eq!(status, GateStatus::Skipped("no SLO rule applies to api: nothing to judge".into()));
    assert_eq!((status.word(), status.settled()), ("skipped", true));
    assert_ne!(status.word(), GateStatus::Passed(String::new()).word());
    let required = Gate::SloClean {
        service: "api".into(),
        rules: vec![],
        window_s: 300,
        for_s: 60,
        timeout_s: 600,
        required: true,
    };
    assert!(required.summary().contains("required"));
    match evaluate(&required, &e) {
        GateStatus::Failed(why) => assert!(why.contains("nothing to judge") && why.contains("required"), "{why}"),
        other => panic!("a required gate with nothing to judge must fail, got {other:?}"),
    }
    // Rules that apply, even clean ones, are judged as before.
    let clean = [check(GateState::Pass, 0)];
    let e = GateEvidence { slo: Some(&clean), ..evidence(Some(&s), 0, 60) };
    assert!(matches!(evaluate(&required, &e), GateStatus::Passed(_)));
}

#[test]
fn increments_and_deadlines_saturate_instead_of_overflowing() {
    assert_eq!(next_increment(i32::MAX - 1, i32::MAX, Some(10)), i32::MAX);
    assert_eq!(next_increment(i32::MIN + 1, i32::MIN, Some(10)), i32::MIN);
    let forever = Gate::RolloutComplete { service: "api".into(), timeout_s: i64::MAX / 2 };
    assert_eq!(deadline(&forever, at(0)), Timestamp::MAX);
}

#[test]
fn node_drained_waits_for_every_pod_a_drain_moves_and_ignores_the_ones_it_leaves() {
    let pod = |name: &str, owner: &str| -> Arc<PodFacts> {
        let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "shop",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner, "name": "x", "uid": "u", "controller": true}]},
            "spec": {"nodeName": "node-a", "containers": [{"name": "c"}]},
            "status": {"phase": "Running"},
        }))
        .unwrap();
        Arc::new(pod.into())
    };
    let gate = Gate::NodeDrained { node: "node-a".into(), timeout_s: 60 };
    let left = [pod("web-1", "ReplicaSet"), pod("agent-1", "DaemonSet")];
    let e = GateEvidence { node_pods: Some(&left), ..evidence(None, 0, 10) };
    assert_eq!(evaluate(&gate, &e), GateStatus::Waiting("shop/web-1 is still on node-a".into()));
    let only_daemons = [pod("agent-1", "DaemonSet")];
    let e = GateEvidence { node_pods: Some(&only_daemons), ..evidence(None, 0, 10) };
    assert!(matches!(evaluate(&gate, &e), GateStatus::Passed(_)), "a DaemonSet's pod stays: the node is drained");
    let e = GateEvidence { node_pods: None, ..evidence(None, 0, 61) };
    assert!(matches!(evaluate(&gate, &e), GateStatus::Failed(d) if d.contains("could not be listed")));
}
