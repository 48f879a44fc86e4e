//! The log follower (`cluster::logs`) against the simulated cluster over real HTTP: it
//! streams every pod of a service, keeps streaming into the same channel when a rollout
//! replaces the pods, and reconnects a dropped stream without repeating lines.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use cockpit::cluster::logs::{LogEvent, LogFollower, PodTarget, read_recent};
use cockpit::sim::spec::FaultSpec;
use cockpit::sim::world::{self, ScenarioSource};
use cockpit::sim::{RunningSim, SimOptions};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use tokio::sync::mpsc::UnboundedReceiver;

const DEADLINE: Duration = Duration::from_secs(60);

async fn statewave_pods(pods: &Api<Pod>) -> Vec<PodTarget> {
    let list = pods.list(&ListParams::default().labels("app.kubernetes.io/name=statewave")).await.unwrap();
    list.items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .map(|p| PodTarget {
            name: p.metadata.name.clone().unwrap(),
            containers: p.spec.as_ref().unwrap().containers.iter().map(|c| c.name.clone()).collect(),
            started: p.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0),
        })
        .collect()
}

/// Receives until `done` says so; fails after the deadline.
async fn until(rx: &mut UnboundedReceiver<LogEvent>, what: &str, mut done: impl FnMut(&LogEvent) -> bool) {
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(event) = rx.recv().await {
            if done(&event) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "no {what} within {DEADLINE:?}");
}

fn kubectl(sim: &RunningSim, dir: &tempfile::TempDir, args: &[&str]) {
    let kubeconfig = dir.path().join("kubeconfig.json");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let out = Command::new("kubectl").arg("--kubeconfig").arg(&kubeconfig).args(args).output().unwrap();
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_follower_streams_every_pod_through_a_rollout_and_a_dropped_stream() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let scenario = world::load(&ScenarioSource::Builtin("demo".into())).unwrap().with_time_scale(0.5);
    let sim = rt.block_on(cockpit::sim::start_with(scenario, SimOptions::default())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = sim.kubeconfig();
    rt.block_on(async {
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
        let pods: Api<Pod> = Api::namespaced(kube::Client::try_from(config).unwrap(), "statewave");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut follower = LogFollower::new(pods.clone(), Duration::from_secs(30), 20, tx);
        let mut first = statewave_pods(&pods).await;
        while first.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            first = statewave_pods(&pods).await;
        }
        follower.sync(&first);
        assert_eq!(follower.followed(), first.len());
        until(&mut rx, "line from the first pods", |e| matches!(e, LogEvent::Line(_))).await;

        // A dropped stream: reported, reopened, and no line delivered twice.
        let mut seen: BTreeMap<String, Timestamp> = BTreeMap::new();
        let mut repeated = Vec::new();
        sim.faults().inject(FaultSpec::DropWatches);
        let (mut interrupted, mut reattached) = (false, false);
        until(&mut rx, "a line after the stream was dropped and reopened", |e| match e {
            LogEvent::Interrupted { .. } => {
                interrupted = true;
                false
            }
            LogEvent::Attached { .. } => {
                reattached |= interrupted;
                false
            }
            LogEvent::Line(l) => {
                if seen.get(&l.pod).is_some_and(|last| l.at <= *last) {
                    repeated.push(l.clone());
                }
                seen.insert(l.pod.clone(), l.at);
                reattached
            }
            _ => false,
        })
        .await;
        assert!(repeated.is_empty(), "lines delivered twice after the reconnect: {repeated:?}");

        // A rollout replaces every pod; the follower follows the new ones.
        let old: BTreeSet<String> = first.iter().map(|p| p.name.clone()).collect();
        kubectl(&sim, &dir, &["rollout", "restart", "deploy/statewave", "-n", "statewave"]);
        let found = tokio::time::timeout(DEADLINE, async {
            loop {
                follower.sync(&statewave_pods(&pods).await);
                let deadline = tokio::time::sleep(Duration::from_millis(500));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        _ = &mut deadline => break,
                        event = rx.recv() => {
                            if let Some(LogEvent::Line(l)) = event && !old.contains(&l.pod) {
                                return l;
                            }
                        }
                    }
                }
            }
        })
        .await
        .expect("a line from a pod the rollout started");
        assert!(!old.contains(&found.pod));
        assert!(found.pod_started.is_some(), "the pod's start travels with its lines (startup grace)");

        // The gate's one-shot read sees the same stream's recent past.
        let recent = read_recent(&pods, &found.pod, &found.container, Duration::from_secs(60)).await.unwrap();
        assert!(!recent.is_empty() && recent.iter().all(|l| l.pod == found.pod));
    });
}
