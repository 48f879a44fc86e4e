use super::*;

fn file(text: &str) -> RunbookFile {
    RunbookFile { name: "test".into(), label: PathBuf::from("runbooks/test.yaml"), text: text.into(), builtin: false }
}

fn problems(text: &str) -> Vec<String> {
    load(&file(text), Fill::Check).expect_err("invalid").iter().map(ToString::to_string).collect()
}

#[test]
fn every_builtin_runbook_validates_and_fills_with_its_defaults() {
    for (name, text) in BUILTINS {
        let file = builtin(name, text);
        let checked = load(&file, Fill::Check);
        assert!(
            checked.is_ok(),
            "{name}: {:?}",
            checked.err().map(|p| p.iter().map(ToString::to_string).collect::<Vec<_>>())
        );
        assert_eq!(checked.unwrap().name, *name, "the file name and the runbook name agree");
        assert!(!description_of(text).is_empty(), "{name} has a description");
    }
    let staged = load(&builtin(BUILTINS[0].0, BUILTINS[0].1), Fill::Run(&[])).unwrap();
    assert_eq!(staged.namespace.as_deref(), Some("soundspan-staging"));
    let ids: Vec<&str> = staged.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["preflight", "enable-worker", "api-role", "scheduler-clean", "scale-api", "scale-frontend", "further"]
    );
    assert_eq!(staged.steps[4].title, "Scale the API to 2 replicas; readiness stable, reconnect latency within target");
    assert_eq!(
        staged.steps[4].action,
        StepAction::Scale { service: "soundspan-backend".into(), replicas: 2, step: None }
    );
    assert_eq!(staged.steps[1].on_failure, OnFailure::Runbook("soundspan-rollback".into()));
    assert_eq!(staged.steps[0].on_failure, OnFailure::Stop, "a step's own on_failure wins");
}

#[test]
fn parameters_fill_typed_fields_and_when() {
    let rollback = builtin(BUILTINS[1].0, BUILTINS[1].1);
    let plain = load(&rollback, Fill::Run(&[])).unwrap();
    assert!(!plain.steps.iter().find(|s| s.id == "worker-off").unwrap().enabled);
    let given = [("disable_worker".to_string(), "true".to_string()), ("namespace".to_string(), "music".to_string())];
    let full = load(&rollback, Fill::Run(&given)).unwrap();
    assert!(full.steps.iter().find(|s| s.id == "worker-off").unwrap().enabled);
    assert_eq!(full.namespace.as_deref(), Some("music"));
    assert!(full.params.contains(&("disable_worker".to_string(), "true".to_string())));

    let steps = builtin(BUILTINS[3].0, BUILTINS[3].1);
    let missing = load(&steps, Fill::Run(&[])).unwrap_err();
    let text: Vec<String> = missing.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|t| t.contains("params.service: needs a value: pass --param service=…")), "{text:?}");
    assert!(text.iter().any(|t| t.contains("params.replicas: needs a value")), "{text:?}");
    let given = [
        ("service".to_string(), "shop/api".to_string()),
        ("replicas".to_string(), "6".to_string()),
        ("step".to_string(), "2".to_string()),
    ];
    let filled = load(&steps, Fill::Run(&given)).unwrap();
    assert_eq!(filled.steps[0].action, StepAction::Scale { service: "shop/api".into(), replicas: 6, step: Some(2) });
    let unknown = load(&steps, Fill::Run(&[("replcias".to_string(), "6".to_string())])).unwrap_err();
    assert!(unknown.iter().any(|d| d.message.contains("--param replcias: this runbook has no such parameter")));
    let bad = [("service".to_string(), "api".to_string()), ("replicas".to_string(), "six".to_string())];
    let bad = load(&steps, Fill::Run(&bad)).unwrap_err();
    assert_eq!(
        bad[0].to_string(),
        "runbooks/test.yaml:16: error: steps[0].scale.replicas: expected a whole number, got \"six\""
            .replace("runbooks/test.yaml", &steps.label.display().to_string())
    );
}

#[test]
fn every_problem_is_reported_with_its_line_and_field() {
    let text = "\
name: broken
params:
  n: {default: \"2\"}
steps:
  - id: one
    scale: {service: api, replicas: \"{{m}}\"}
  - id: two
    scael:
      service: api
  - id: one
    restart: {service: api}
    gates:
      - rollout-complet: {}
      - ready-stable: {for: 5m, timeout: 1m}
  - id: four
    wait: 10
    on_failure: retry
  - manual: []
";
    let found = problems(text);
    let expect = [
        "runbooks/test.yaml:6: error: steps[0].scale.replicas: {{ m }}: no such parameter (declared: n)",
        "runbooks/test.yaml:8: error: steps[1].scael: unknown field \"scael\" (expected one of: id, title,",
        "runbooks/test.yaml:7: error: steps[1]: a step needs one action:",
        "runbooks/test.yaml:13: error: steps[2].gates[0]: unknown gate \"rollout-complet\"; did you mean \"rollout-complete\"?",
        "runbooks/test.yaml:14: error: steps[2].gates[1].ready-stable.timeout: the timeout (60s) is shorter than for (300s)",
        "runbooks/test.yaml:10: error: steps[2].id: step id \"one\" is used twice",
        "runbooks/test.yaml:16: error: steps[3].wait: expected a duration (wait: 30s) or {for: 30s}",
        "runbooks/test.yaml:17: error: steps[3].on_failure: expected \"stop\", \"continue\" or {runbook: NAME}",
        "runbooks/test.yaml:18: error: steps[4].manual: a manual step needs a checklist",
    ];
    for e in expect {
        assert!(found.iter().any(|f| f.starts_with(e)), "missing {e:?} in:\n{}", found.join("\n"));
    }
    assert_eq!(found.len(), expect.len(), "{}", found.join("\n"));
}

#[test]
fn shape_errors_name_what_was_expected() {
    assert_eq!(problems("name: x\n"), ["runbooks/test.yaml:1: error: steps: a runbook needs at least one step"]);
    let found = problems("name: x\nsteps:\n  - scale: {service: a/b/c, replicas: -1}\n    restart: {service: a}\n");
    assert!(
        found.iter().any(|f| f.contains("steps[0]: a step has one action, this one has scale and restart")),
        "{found:?}"
    );
    let found = problems("name: x\nsteps:\n  - wait: 5s\n    gates: [rollout-complete]\n");
    assert_eq!(
        found,
        [
            "runbooks/test.yaml:4: error: steps[0].gates[0].rollout-complete: this step changes no service: name the gate's service"
        ]
    );
    let found = problems("name: x\nsteps:\n  - scale: {service: api, replicas: 2, step: 0}\n");
    assert!(found[0].contains("steps[0].scale.step: a step of 0 never arrives"), "{found:?}");
    let found =
        problems("steps:\n  - set-env: {service: api, env: {}}\n  - patch: {service: api, type: json, patch: []}\n");
    assert!(found.iter().any(|f| f.contains("steps[0].set-env.env: no variable to set or remove")), "{found:?}");
    assert!(
        found.iter().any(|f| f.contains("steps[1].patch.type: expected strategic or merge, got \"json\"")),
        "{found:?}"
    );
    assert!(found.iter().any(|f| f.contains("steps[1].patch.patch: expected the patch as a mapping")), "{found:?}");
    let found = problems("bogus: 1\nsteps:\n  - manual: [ok]\n");
    assert_eq!(
        found,
        [
            "runbooks/test.yaml:1: error: bogus: unknown field \"bogus\" (expected one of: name, description, params, namespace, services, on_failure, steps)"
        ]
    );
    let found = problems("steps: [\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("runbooks/test.yaml:"), "a YAML syntax error has a line too: {found:?}");
}

#[test]
fn a_user_runbook_overrides_a_builtin_and_paths_are_read_as_files() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths { config_dir: dir.path().to_path_buf(), data_dir: dir.path().join("data") };
    std::fs::create_dir_all(paths.runbooks()).unwrap();
    std::fs::write(paths.runbooks().join("rollback-service.yaml"), "description: mine\nsteps:\n  - manual: [ok]\n")
        .unwrap();
    std::fs::write(paths.runbooks().join("mine.yaml"), "description: my own\nsteps:\n  - manual: [ok]\n").unwrap();
    let found = find("rollback-service", &paths).unwrap();
    assert!(!found.builtin);
    let listed = list(&paths);
    assert_eq!(listed.iter().filter(|l| l.name == "rollback-service").count(), 1);
    assert_eq!(listed.iter().find(|l| l.name == "rollback-service").unwrap().description, "mine");
    assert!(listed.iter().any(|l| l.name == "soundspan-staged-rollout" && l.origin == "built-in"));
    let by_path = find(&paths.runbooks().join("mine.yaml").display().to_string(), &paths).unwrap();
    assert_eq!(by_path.name, "mine");
    assert!(find("rollback-servce", &paths).unwrap_err().contains("did you mean \"rollback-service\"?"));
    let beside = find_related("mine", &by_path, &paths).unwrap();
    assert_eq!(beside.label, paths.runbooks().join("mine.yaml"));
    let (count, problems) = check_all(&paths);
    assert_eq!(count, BUILTINS.len() + 2);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn handovers_must_name_a_runbook_and_never_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths { config_dir: dir.path().to_path_buf(), data_dir: dir.path().join("data") };
    std::fs::create_dir_all(paths.runbooks()).unwrap();
    let write = |name: &str, text: &str| std::fs::write(paths.runbooks().join(format!("{name}.yaml")), text).unwrap();
    write("a", "steps:\n  - id: one\n    manual: [ok]\n    on_failure: {runbook: b}\n");
    write("b", "on_failure: {runbook: a}\nsteps:\n  - manual: [ok]\n");
    write(
        "typo",
        "steps:\n  - manual: [ok]\n  - id: two\n    manual: [ok]\n    on_failure: {runbook: rollback-servce}\n",
    );
    write("fine", "steps:\n  - manual: [ok]\n    on_failure: {runbook: rollback-service}\n");

    let typo = check_handovers(&find("typo", &paths).unwrap(), &paths);
    let typo: Vec<String> = typo.iter().map(ToString::to_string).collect();
    assert_eq!(typo.len(), 1, "{typo:?}");
    assert!(typo[0].contains("typo.yaml:5: error: steps[1].on_failure.runbook"), "{}", typo[0]);
    assert!(typo[0].contains("did you mean \"rollback-service\""), "{}", typo[0]);

    let cycle = check_handovers(&find("a", &paths).unwrap(), &paths);
    let cycle: Vec<String> = cycle.iter().map(ToString::to_string).collect();
    assert_eq!(cycle.len(), 1, "{cycle:?}");
    assert!(cycle[0].contains("b.yaml:1: error: on_failure") && cycle[0].contains("a → b → a"), "{}", cycle[0]);

    assert!(check_handovers(&find("fine", &paths).unwrap(), &paths).is_empty());
    let (_, all) = check_all(&paths);
    let all: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(all.iter().filter(|p| p.contains("is a cycle")).count(), 2, "from a and from b: {all:?}");
    assert!(all.iter().any(|p| p.contains("rollback-servce")), "{all:?}");
    for (name, text) in BUILTINS {
        assert!(check_handovers(&builtin(name, text), &paths).is_empty(), "{name}");
    }
}

#[test]
fn an_slo_clean_gate_may_be_required_and_a_wrong_type_is_refused_at_its_line() {
    let text = "name: strict\nsteps:\n  - id: one\n    restart: {service: api}\n    gates:\n      - slo-clean: {required: true, for: 1m}\n      - slo-clean\n";
    let runbook = load(&file(text), Fill::Check).unwrap();
    let required = |g: &Gate| matches!(g, Gate::SloClean { required: true, .. });
    assert_eq!(runbook.steps[0].gates.iter().map(required).collect::<Vec<_>>(), [true, false], "false by default");
    let wrong = "name: strict\nsteps:\n  - id: one\n    restart: {service: api}\n    gates:\n      - slo-clean:\n          required: 3\n";
    assert_eq!(
        problems(wrong),
        ["runbooks/test.yaml:7: error: steps[0].gates[0].slo-clean.required: expected true or false, got 3"]
    );
    let durations = "name: long\nsteps:\n  - id: one\n    wait: 99999999999999999999h\n";
    assert!(problems(durations)[0].contains("longer than the maximum of 1 year"), "{:?}", problems(durations));
}

#[test]
fn gitops_steps_and_the_gitops_synced_gate_parse() {
    let hold = load(
        &builtin("gitops-hold", BUILTINS.iter().find(|(n, _)| *n == "gitops-hold").unwrap().1),
        Fill::Run(&[("service".into(), "shop/api".into())]),
    )
    .unwrap();
    assert_eq!(hold.steps[0].action, StepAction::GitOpsSuspend { service: "shop/api".into(), suspend: true });
    assert_eq!(hold.steps[2].action, StepAction::GitOpsSuspend { service: "shop/api".into(), suspend: false });
    assert_eq!(hold.steps[2].gates, [Gate::GitOpsSynced { service: "shop/api".into(), timeout_s: 600 }]);
    let found = problems("steps:\n  - resume-gitops: {service: api, owner: x}\n");
    assert!(found.iter().any(|p| p.contains("owner")), "{found:?}");
}

#[test]
fn node_steps_and_the_node_drained_gate_parse_and_their_mistakes_are_named() {
    let text = "name: roll-nodes\nparams:\n  node: {}\nsteps:\n  - cordon: \"{{node}}\"\n  - drain: {node: \"{{node}}\", force: true}\n    gates: [node-drained]\n  - uncordon: {node: \"{{node}}\"}\n    gates:\n      - node-drained: {node: other-1, timeout: 2m}\n";
    let given = [("node".to_string(), "node-a".to_string())];
    let rb = load(&file(text), Fill::Run(&given)).unwrap();
    let actions: Vec<&StepAction> = rb.steps.iter().map(|s| &s.action).collect();
    assert_eq!(
        actions,
        [
            &StepAction::Cordon { node: "node-a".into() },
            &StepAction::Drain { node: "node-a".into(), force: true },
            &StepAction::Uncordon { node: "node-a".into() },
        ]
    );
    assert_eq!(rb.steps[1].gates, [Gate::NodeDrained { node: "node-a".into(), timeout_s: 600 }], "the step's node");
    assert_eq!(rb.steps[2].gates, [Gate::NodeDrained { node: "other-1".into(), timeout_s: 120 }]);

    let found = problems(
        "name: x\nsteps:\n  - drain: {nodes: a}\n  - cordon: Node_A\n  - wait: 5s\n    gates: [node-drained]\n  - drain: {node: a, force: maybe}\n",
    );
    let expect = [
        "runbooks/test.yaml:3: error: steps[0].drain.nodes: unknown field \"nodes\"",
        "runbooks/test.yaml:3: error: steps[0].drain: missing field node",
        "runbooks/test.yaml:4: error: steps[1].cordon: expected a node name (lowercase letters, digits, - and .), got \"Node_A\"",
        "runbooks/test.yaml:6: error: steps[2].gates[0].node-drained: this step acts on no node: name the gate's node",
        "runbooks/test.yaml:7: error: steps[3].drain.force: expected true or false",
    ];
    for e in expect {
        assert!(found.iter().any(|f| f.starts_with(e)), "{e:?} in {found:#?}");
    }
}
