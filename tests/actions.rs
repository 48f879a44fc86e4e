//! Guided actions end to end: the real binary's `scale` against the simulated cluster
//! (controllers running), checked through the real `kubectl`, with the audit trail.

mod support;

use cockpit::sim::SimOptions;
use support::rig::{Rig, text};

#[test]
fn scale_previews_dry_runs_applies_follows_and_audits() {
    let rig = Rig::start(SimOptions::default());
    let dry = rig.cockpit(&["scale", "soundspan/soundspan-frontend", "4", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let out = text(&dry);
    assert!(out.contains("2 → 4") && out.contains("server dry-run: ok"), "{out}");
    assert!(out.contains("disruption budget") && out.contains("allowed now →"), "the PDB line: {out}");
    assert!(out.contains("kubectl scale deployment/soundspan-frontend -n soundspan --replicas=4"), "{out}");
    assert_eq!(rig.replicas("soundspan", "soundspan-frontend").0, 2, "a dry-run changes nothing");

    let declined = rig.cockpit(&["scale", "soundspan/soundspan-frontend", "4"]);
    assert_eq!(declined.status.code(), Some(5), "no terminal, no --yes: {}", text(&declined));
    assert_eq!(rig.replicas("soundspan", "soundspan-frontend").0, 2);

    let applied = rig.cockpit(&["scale", "soundspan/soundspan-frontend", "3", "--yes"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert!(text(&applied).contains("rolled out: 3 replicas ready"), "{}", text(&applied));
    assert_eq!(rig.replicas("soundspan", "soundspan-frontend"), (3, 3), "followed to completion");

    let outcomes: Vec<String> = rig.audit().iter().map(|e| e["outcome"].as_str().unwrap().to_string()).collect();
    assert_eq!(outcomes, ["dry-run", "declined", "applied"]);
    let last = rig.audit().pop().unwrap();
    assert_eq!(last["target"], "soundspan/deploy/soundspan-frontend");
    assert_eq!((last["before"]["replicas"].as_i64(), last["after"]["replicas"].as_i64()), (Some(2), Some(3)));
    assert_eq!(last["context"], "cockpit-sim");
}

#[test]
fn guards_refuse_singletons_rwo_volumes_and_hpa_owned_services() {
    let rig = Rig::start(SimOptions::default());
    let singleton = rig.cockpit(&["scale", "honeydue/worker", "2", "--yes"]);
    assert_eq!(singleton.status.code(), Some(4), "{}", text(&singleton));
    assert!(text(&singleton).contains("single replica"), "{}", text(&singleton));

    let rwo = rig.cockpit(&["scale", "honeydue/redis", "2", "--yes"]);
    assert_eq!(rwo.status.code(), Some(4), "{}", text(&rwo));
    assert!(text(&rwo).contains("ReadWriteOnce") && text(&rwo).contains("ReadWriteMany"), "{}", text(&rwo));

    let hpa = rig.cockpit(&["scale", "app/app", "6", "--yes", "--force"]);
    assert_eq!(hpa.status.code(), Some(4), "{}", text(&hpa));
    assert!(text(&hpa).contains("kubectl patch hpa"), "redirected to the HPA: {}", text(&hpa));

    let read_only = rig.cockpit(&["--read-only", "scale", "soundspan/soundspan-frontend", "3", "--yes"]);
    assert_eq!(read_only.status.code(), Some(4));
    assert_eq!(rig.replicas("honeydue", "worker").0, 1);
    assert_eq!(rig.replicas("honeydue", "redis").0, 1);
    assert_eq!(rig.replicas("soundspan", "soundspan-frontend").0, 2, "nothing changed");
    let refusals = rig.audit().iter().filter(|e| e["outcome"].as_str().unwrap().starts_with("refused")).count();
    assert_eq!(refusals, 3, "every refused attempt is in the audit log");

    let unknown = rig.cockpit(&["scale", "soundspan/nope", "2", "--yes"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
}

#[test]
fn a_concurrent_change_is_a_conflict_and_nothing_is_applied() {
    use cockpit::cluster::mutate::{self, MutationError};
    use cockpit::model::service::{ServiceKey, WorkloadKind};
    let rig = Rig::start(SimOptions::default());
    let stale = rig.kubectl(&[
        "get",
        "deploy",
        "soundspan-frontend",
        "-n",
        "soundspan",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    rig.kubectl(&["annotate", "deploy", "soundspan-frontend", "-n", "soundspan", "someone=else"]);
    let key =
        ServiceKey { namespace: "soundspan".into(), name: "soundspan-frontend".into(), kind: WorkloadKind::Deployment };
    let kubeconfig = rig.sim().kubeconfig();
    let result = rig.rt.block_on(async {
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
        let client = kube::Client::try_from(config).unwrap();
        mutate::scale(&client, &key, 5, Some(&stale), false).await
    });
    assert!(matches!(result, Err(MutationError::Conflict(_))), "{result:?}");
    assert_eq!(rig.replicas("soundspan", "soundspan-frontend").0, 2);
}

#[test]
fn a_read_only_user_gets_a_clear_rbac_message() {
    let rig = Rig::start(SimOptions { extra_users: vec![support::viewer()], ..Default::default() });
    let path = rig.dir.path().join("viewer.json");
    cockpit::sim::kubeconfig::write(&path, &rig.sim().kubeconfig_for_user("viewer").unwrap()).unwrap();
    let out = rig.cockpit_as(&path, &["scale", "soundspan/soundspan-frontend", "3", "--yes"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let message = text(&out);
    assert!(message.contains("forbidden") && message.contains("viewer"), "{message}");
    assert_eq!(rig.stored_replicas("soundspan", "soundspan-frontend").0, 2);
}

#[test]
fn rollout_undo_restores_the_chosen_revisions_images_and_restart_pause_resume_work() {
    let rig = Rig::start(SimOptions::default());
    let (ns, name) = ("soundspan", "soundspan-frontend");
    let image = |rig: &Rig| {
        rig.kubectl(&["get", "deploy", name, "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"])
    };
    let container =
        rig.kubectl(&["get", "deploy", name, "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].name}"]);
    let original = image(&rig);
    rig.kubectl(&[
        "set",
        "image",
        &format!("deploy/{name}"),
        "-n",
        ns,
        &format!("{container}=registry.example/frontend:2.0"),
    ]);
    rig.kubectl(&["rollout", "status", &format!("deploy/{name}"), "-n", ns, "--timeout=60s"]);

    let history = rig.cockpit(&["rollout", "history", &format!("{ns}/{name}")]);
    assert_eq!(history.status.code(), Some(0), "{}", text(&history));
    let listing = text(&history);
    assert!(listing.contains("2 *") && listing.contains("frontend:2.0") && listing.contains(&original), "{listing}");

    let dry = rig.cockpit(&["rollout", "undo", &format!("{ns}/{name}"), "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        text(&dry).contains(&format!("registry.example/frontend:2.0 → {original}")),
        "the image diff: {}",
        text(&dry)
    );
    assert_eq!(image(&rig), "registry.example/frontend:2.0", "a dry-run changes nothing");

    let undo = rig.cockpit(&["rollout", "undo", &format!("{ns}/{name}"), "--to-revision", "1", "--yes"]);
    assert_eq!(undo.status.code(), Some(0), "{}", text(&undo));
    assert!(text(&undo).contains("rolled out"), "{}", text(&undo));
    assert_eq!(image(&rig), original, "revision 1's image is back");

    let restart = rig.cockpit(&["rollout", "restart", &format!("{ns}/{name}"), "--yes"]);
    assert_eq!(restart.status.code(), Some(0), "{}", text(&restart));
    let stamp = rig.kubectl(&[
        "get",
        "deploy",
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
    ]);
    assert!(!stamp.is_empty(), "restartedAt set");

    let pause = rig.cockpit(&["rollout", "pause", &format!("{ns}/{name}"), "--yes"]);
    assert_eq!(pause.status.code(), Some(0), "{}", text(&pause));
    rig.wait_until("paused", || {
        rig.kubectl(&["get", "deploy", name, "-n", ns, "-o", "jsonpath={.spec.paused}"]) == "true"
    });
    let again = rig.cockpit(&["rollout", "pause", &format!("{ns}/{name}"), "--yes"]);
    assert_eq!(again.status.code(), Some(4), "already paused: {}", text(&again));
    let resume = rig.cockpit(&["rollout", "resume", &format!("{ns}/{name}"), "--yes"]);
    assert_eq!(resume.status.code(), Some(0), "{}", text(&resume));
    assert_ne!(rig.kubectl(&["get", "deploy", name, "-n", ns, "-o", "jsonpath={.spec.paused}"]), "true");

    let actions: Vec<(String, String)> = rig
        .audit()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["outcome"].as_str().unwrap().to_string()))
        .collect();
    let expected = [
        ("rollout undo", "dry-run"),
        ("rollout undo", "applied"),
        ("rollout restart", "applied"),
        ("rollout pause", "applied"),
        ("rollout pause", "refused: already-paused"),
        ("rollout resume", "applied"),
    ];
    assert_eq!(actions, expected.map(|(a, o)| (a.to_string(), o.to_string())));
    let undo_entry = &rig.audit()[1];
    assert_eq!(
        (undo_entry["before"]["revision"].as_i64(), undo_entry["after"]["revision"].as_i64()),
        (Some(2), Some(1))
    );
}
