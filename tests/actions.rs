//! Guided actions end to end: the real binary's `scale` and `rollout` against the simulated
//! cluster (controllers running), checked through the real `kubectl`, with the audit trail;
//! and the Helm awareness they build on (release history from Secret metadata only).

mod support;

use std::path::Path;

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
    assert_eq!(refusals, 4, "every refused attempt is in the audit log, --read-only too");

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
    let key = ServiceKey {
        namespace: "soundspan".into(),
        name: "soundspan-frontend".into(),
        kind: WorkloadKind::Deployment,
        cluster: None,
    };
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

#[test]
fn a_statefulset_undo_restores_its_controller_revision_with_a_diff_first() {
    let rig = Rig::start(SimOptions::default());
    let (ns, name) = ("statewave", "statewave-pg");
    let sts = format!("sts/{name}");
    let image = |rig: &Rig| {
        rig.kubectl(&["get", "sts", name, "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"])
    };
    rig.kubectl(&["rollout", "status", &sts, "-n", ns, "--timeout=60s"]);
    assert_eq!(image(&rig), "pgvector/pgvector:pg16");
    rig.kubectl(&["set", "image", &sts, "-n", ns, "postgres=pgvector/pgvector:pg17"]);
    rig.kubectl(&["rollout", "status", &sts, "-n", ns, "--timeout=60s"]);

    let history = rig.cockpit(&["rollout", "history", &format!("{ns}/{sts}")]);
    assert_eq!(history.status.code(), Some(0), "{}", text(&history));
    let listing = text(&history);
    assert!(listing.contains("2 *") && listing.contains("pgvector/pgvector:pg17"), "{listing}");
    assert!(listing.lines().any(|l| l.starts_with("1 ") && l.contains("pgvector/pgvector:pg16")), "{listing}");

    let dry = rig.cockpit(&["rollout", "undo", &format!("{ns}/{sts}"), "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        text(&dry).contains("postgres: pgvector/pgvector:pg17 → pgvector/pgvector:pg16"),
        "the diff: {}",
        text(&dry)
    );
    assert!(text(&dry).contains("kubectl rollout undo statefulset/statewave-pg -n statewave --to-revision=1"));
    assert_eq!(image(&rig), "pgvector/pgvector:pg17", "a dry-run changes nothing");

    let undo = rig.cockpit(&["rollout", "undo", &format!("{ns}/{sts}"), "--to-revision", "1", "--yes"]);
    assert_eq!(undo.status.code(), Some(0), "{}", text(&undo));
    assert!(text(&undo).contains("rolled out"), "{}", text(&undo));
    assert_eq!(image(&rig), "pgvector/pgvector:pg16", "revision 1's template is back");
    let pod_image =
        rig.kubectl(&["get", "pod", "statewave-pg-0", "-n", ns, "-o", "jsonpath={.spec.containers[0].image}"]);
    assert_eq!(pod_image, "pgvector/pgvector:pg16", "followed until the pod runs it");
    // As on a real cluster, the restored revision becomes the newest one.
    let kubectl_history = rig.kubectl(&["rollout", "history", &sts, "-n", ns]);
    assert!(
        kubectl_history.contains('3') && !kubectl_history.lines().any(|l| l.trim_start().starts_with("1 ")),
        "{kubectl_history}"
    );

    let undos: Vec<(String, i64, i64)> = rig
        .audit()
        .iter()
        .map(|e| {
            let revision = |side: &str| e[side]["revision"].as_i64().unwrap_or(0);
            (e["outcome"].as_str().unwrap().to_string(), revision("before"), revision("after"))
        })
        .collect();
    assert_eq!(undos, [("dry-run".to_string(), 2, 1), ("applied".to_string(), 2, 1)]);
}

/// The number in "room for N more on M nodes" of a scale preview.
fn room_for(preview: &str) -> u64 {
    let line = preview
        .lines()
        .find(|l| l.contains("node capacity"))
        .unwrap_or_else(|| panic!("no node capacity line: {preview}"));
    let after = line.split("room for ").nth(1).unwrap_or_else(|| panic!("{line}"));
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn a_scale_up_past_the_nodes_free_allocatable_warns_in_the_dry_run() {
    let rig = Rig::start(SimOptions::default());
    let service = "soundspan/soundspan-audio-analyzer";
    // 500m cpu and 1Gi each: the demo's three nodes of 8 cpu and 16Gi hold fewer than 47 more.
    let big = rig.cockpit(&["scale", service, "48", "--dry-run"]);
    assert_eq!(big.status.code(), Some(0), "a warning, not a refusal: {}", text(&big));
    let out = text(&big);
    assert!(out.contains("47 new pods x 500m cpu, 1Gi memory"), "{out}");
    let room = room_for(&out);
    assert!(room > 0 && room < 47, "{out}");
    assert!(out.contains("warning") && out.contains("would stay Pending"), "the guard: {out}");
    assert!(out.contains(&format!("scale to {} at most", 1 + room)), "{out}");

    let small = rig.cockpit(&["scale", service, "2", "--dry-run"]);
    let out = text(&small);
    assert!(room_for(&out) >= 1 && !out.contains("would stay Pending"), "one more fits: {out}");
    assert_eq!(rig.replicas("soundspan", "soundspan-audio-analyzer").0, 1, "dry-runs change nothing");
}

#[test]
fn a_namespaced_user_is_told_node_capacity_is_unknown() {
    use cockpit::sim::spec::{RuleSpec, UserSpec};
    let everything_in_soundspan =
        RuleSpec { verbs: vec!["*".into()], resources: vec!["*".into()], namespaces: vec!["soundspan".into()] };
    let dev = UserSpec {
        name: "dev".into(),
        token: "dev-token".into(),
        groups: vec![],
        rules: vec![everything_in_soundspan],
    };
    let rig = Rig::start(SimOptions { extra_users: vec![dev], ..Default::default() });
    let path = rig.dir.path().join("dev.json");
    cockpit::sim::kubeconfig::write(&path, &rig.sim().kubeconfig_for_user("dev").unwrap()).unwrap();
    let out = rig.cockpit_as(&path, &["scale", "soundspan/soundspan-audio-analyzer", "48", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = text(&out);
    assert!(
        out.contains("node capacity      unknown: the nodes cannot be listed (a cluster-scoped permission)"),
        "{out}"
    );
    assert!(!out.contains("would stay Pending"), "no guess: {out}");
}

/// The start of every Helm release body in the demo: base64 of "not-a-helm-release:".
const BODY_MARKER: &str = "bm90LWEtaGVsbS1yZWxlYXNl";

/// `status -o json` in a scope, as `kubeconfig`'s user, with everything it printed.
fn status_json(rig: &Rig, kubeconfig: &Path, scope: &[&str]) -> (serde_json::Value, String) {
    let mut args = scope.to_vec();
    args.extend(["status", "-o", "json"]);
    let out = rig.cockpit_as(kubeconfig, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (serde_json::from_slice(&out.stdout).unwrap(), text(&out))
}

/// (verb, form) of every read of `resource` the simulator answered, from `/sim/metrics`.
fn reads_of(rig: &Rig, resource: &str) -> Vec<(String, String)> {
    rig.sim().metrics()["by_form"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["resource"] == resource)
        .map(|r| (r["verb"].as_str().unwrap().to_string(), r["form"].as_str().unwrap().to_string()))
        .collect()
}

fn docs_site(status: &serde_json::Value) -> &serde_json::Value {
    status["services"].as_array().unwrap().iter().find(|s| s["name"] == "docs-site").expect("docs-site listed")
}

#[test]
fn the_release_history_comes_from_secret_metadata_and_no_secret_body_is_ever_requested() {
    let rig = Rig::start(SimOptions::default());
    let admin = rig.kubeconfig.clone();
    let (status, text) = status_json(&rig, &admin, &["-n", "docs"]);
    let helm = &docs_site(&status)["helm"];
    assert_eq!((helm["release"].as_str(), helm["namespace"].as_str()), (Some("docs"), Some("docs")), "{helm}");
    assert_eq!(helm["chart"], "docs-site-1.4.2");
    assert_eq!(helm["app_version"], "2.3.0");
    let revisions: Vec<(i64, &str)> = helm["revisions"]
        .as_array()
        .unwrap_or_else(|| panic!("history known: {helm}"))
        .iter()
        .map(|r| (r["revision"].as_i64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(revisions, [(4, "deployed"), (3, "failed"), (2, "superseded"), (1, "superseded")]);
    assert!(!text.contains(BODY_MARKER));
    status_json(&rig, &admin, &["-A"]);

    let reads = reads_of(&rig, "secrets");
    assert!(reads.contains(&("list".into(), "metadata".into())), "{reads:?}");
    assert!(reads.contains(&("watch".into(), "metadata".into())), "{reads:?}");
    assert!(reads.iter().all(|(_, form)| form == "metadata"), "only PartialObjectMetadata was asked for: {reads:?}");

    // The accounting does tell a body apart: a client that reads one shows up.
    let body = rig.kubectl(&["get", "secret", "sh.helm.release.v1.docs.v4", "-n", "docs", "-o", "json"]);
    assert!(body.contains(BODY_MARKER), "kubectl reads the nonsense body");
    assert!(reads_of(&rig, "secrets").contains(&("get".into(), "object".into())));
}

#[test]
fn a_user_who_may_not_list_secrets_sees_the_release_with_its_history_unknown() {
    use cockpit::sim::spec::{RuleSpec, UserSpec};
    let everything_but_secrets = RuleSpec {
        verbs: vec!["get".into(), "list".into(), "watch".into()],
        resources: ["deployments", "statefulsets", "replicasets", "pods", "controllerrevisions", "events", "nodes"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        namespaces: vec![],
    };
    let dev =
        UserSpec { name: "dev".into(), token: "dev-token".into(), groups: vec![], rules: vec![everything_but_secrets] };
    let rig = Rig::start(SimOptions { extra_users: vec![dev], ..Default::default() });
    let path = rig.dir.path().join("dev.json");
    cockpit::sim::kubeconfig::write(&path, &rig.sim().kubeconfig_for_user("dev").unwrap()).unwrap();
    let (status, text) = status_json(&rig, &path, &["-n", "docs"]);
    let helm = &docs_site(&status)["helm"];
    assert_eq!(helm["release"], "docs", "the release is named by the workload's own labels: {helm}");
    assert!(helm["revisions"].is_null(), "unknown, not empty: {helm}");
    assert!(!text.contains("secrets"), "no warning on every command for a kind one screen needs: {text}");
}
