//! Every screen and popup drawn on a fixed-size terminal (80x24 and 200x50), text and
//! styles, compared with the files in `src/ui/snapshots/`. A fixed clock, a fixed cluster
//! and the default theme and keymap make them deterministic. After a deliberate change
//! to the screen, rewrite them with `UPDATE_SNAPSHOTS=1 cargo test --lib ui::snapshot_tests`
//! and review the diff like code.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Style;

use super::app::App;
use crate::actions::audit::AuditEntry;
use crate::actions::drain::DrainEvent;
use crate::actions::runbook::state::RunState;
use crate::cluster::session::ClusterView;
use crate::config::commands::Command;
use crate::config::keymap::Keymap;
use crate::config::runbook::ParamDecl;
use crate::config::theme::{TerminalColors, Theme};
use crate::effects::{JobEvent, RunStart, RunnerEvent};
use crate::model::service::*;
use crate::ui::runbooks::RunbookChoice;

/// The sizes every screen is drawn at: a small terminal and a large one.
const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

/// The overview is drawn at a middle size too: wide enough for more columns, not for the
/// side panel; tall enough for the problems strip.
const OVERVIEW_SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

/// The sizes a scene is drawn at.
fn sizes(name: &str) -> &'static [(u16, u16)] {
    if name.starts_with("overview") { &OVERVIEW_SIZES } else { &SIZES }
}

fn now() -> Timestamp {
    "2026-12-01T12:00:00Z".parse().unwrap()
}

fn ago(seconds: i64) -> Timestamp {
    now() - jiff::SignedDuration::from_secs(seconds)
}

/// A small cluster: a healthy API with an autoscaler, a worker with a warning, a Helm
/// service with history, and a statefulset missing a pod.
fn services() -> Vec<Service> {
    let mut api = Service::example("shop", "api", 3);
    api.created = Some(ago(86_400 * 3));
    api.hpa = Some(HpaSummary {
        name: "api".into(),
        min: 2,
        max: 6,
        current: 3,
        desired: 3,
        targets: vec![],
        resource_version: Some("7".into()),
    });
    api.revisions = [("api:1.0", 1), ("api:1.1", 2)]
        .into_iter()
        .rev()
        .map(|(image, revision)| Revision {
            revision,
            change_cause: Some(format!("deploy {image}")),
            created: Some(ago(3600 * revision)),
            replicas: 3,
            current: revision == 2,
            containers: vec![RevisionContainer { name: "api".into(), image: image.into(), ..Default::default() }],
        })
        .collect();
    let mut worker = Service::example("shop", "worker", 2);
    worker.created = Some(ago(7200));
    worker.replicas.ready = 1;
    worker.findings = vec![Finding { id: "test", severity: Severity::Warning, message: "one pod is not ready".into() }];
    let mut docs = Service::example("docs", "docs-site", 1);
    docs.created = Some(ago(600));
    let revision = |revision, status: &str| crate::model::helm::HelmRevision {
        revision,
        status: status.into(),
        created: Some(ago(1000 * revision)),
        modified: None,
    };
    docs.helm = Some(crate::model::helm::HelmRelease {
        name: "docs".into(),
        namespace: "docs".into(),
        chart: Some("docs-site-1.4.2".into()),
        app_version: Some("1.4".into()),
        history: Some(vec![revision(2, "deployed"), revision(1, "superseded")]),
    });
    let mut db = Service::example("data", "postgres", 3);
    db.key.kind = WorkloadKind::StatefulSet;
    db.replicas.ready = 2;
    db.replicas.available = 2;
    db.findings = vec![Finding { id: "test", severity: Severity::Error, message: "a replica is down".into() }];
    // Two names that differ only at their end: at 80 columns both stay readable.
    let mut backend = Service::example("soundspan-staging", "soundspan-backend", 2);
    backend.created = Some(ago(86_400));
    backend.pdb = Some(PdbHeadroom {
        name: "soundspan-backend".into(),
        min_available: Some("1".into()),
        max_unavailable: None,
        current_healthy: 2,
        desired_healthy: 1,
        disruptions_allowed: 1,
        expected_pods: 2,
        explanation: "minAvailable 1 of 2 healthy: 1 pod may be disrupted".into(),
    });
    let mut backend_worker = Service::example("soundspan-staging", "soundspan-backend-worker", 1);
    backend_worker.created = Some(ago(86_400));
    vec![api, worker, docs, db, backend, backend_worker]
}

fn view() -> Arc<ClusterView> {
    let mut view = (*super::app::tests_support::view(1, services())).clone();
    view.context = "prod-eu".into();
    view.server_url = "https://10.0.0.1:6443".into();
    view.namespaces = vec!["data".into(), "docs".into(), "shop".into()];
    view.contexts = vec!["prod-eu".into(), "staging".into()];
    view.built_at = now();
    Arc::new(view)
}

fn app(width: u16, height: u16) -> App {
    let theme = Theme::builtin("dark", &TerminalColors::from_values(false, "")).unwrap();
    let mut app = App::new(theme, Keymap::builtin("default").unwrap(), view(), false);
    app.resize(ratatui::layout::Rect::new(0, 0, width, height));
    app.audit = vec![AuditEntry {
        time: "2026-12-01T11:58:00Z".into(),
        context: "prod-eu".into(),
        user: Some("ops".into()),
        action: "scale".into(),
        target: "shop/deploy/api".into(),
        before: serde_json::json!({"replicas": 2}),
        after: serde_json::json!({"replicas": 3}),
        dry_run: Some("ok".into()),
        outcome: "applied".into(),
    }];
    let decl = |name: &str, default: Option<&str>| ParamDecl {
        name: name.into(),
        default: default.map(str::to_string),
        description: String::new(),
    };
    app.runbooks.choices = vec![RunbookChoice {
        name: "restart-safely".into(),
        description: "restart a service one pod at a time".into(),
        params: vec![decl("service", None), decl("pause", Some("30s"))],
    }];
    app
}

/// A run interrupted at its second step, as the state file records it.
fn interrupted_run() -> RunState {
    serde_json::from_value(serde_json::json!({
        "runbook": "restart-safely",
        "source": "<built-in runbook restart-safely>",
        "context": "prod-eu",
        "namespace": "shop",
        "params": [["service", "shop/api"]],
        "status": "running",
        "started": "2026-12-01T11:50:00Z",
        "updated": "2026-12-01T11:55:00Z",
        "pid": 4242,
        "steps": [
            {"id": "look", "title": "Look first", "summary": "wait 1 s", "state": "passed", "detail": "",
             "started": null, "finished": null, "sending": false, "applied": false, "restarted_at": null,
             "skip_reason": null, "gates": []},
            {"id": "restart", "title": "Restart api", "summary": "rollout restart shop/api", "state": "pending",
             "detail": "", "started": null, "finished": null, "sending": false, "applied": false,
             "restarted_at": null, "skip_reason": null, "gates": []}
        ],
        "rollback": null,
        "message": ""
    }))
    .expect("a run state")
}

fn run(app: &mut App, command: Command) {
    app.run(command, now());
}

fn typed(app: &mut App, text: &str) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    for c in text.chars() {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), now());
    }
}

/// A screen or popup, by name, and how the operator gets there.
type Scene = (&'static str, fn(&mut App));

/// Every screen and popup.
fn scenes() -> Vec<Scene> {
    vec![
        ("overview", |_| {}),
        ("overview_grouped", |a| run(a, Command::ToggleNamespaceGroups)),
        ("overview_next_problem", |a| {
            run(a, Command::NextProblem);
        }),
        ("jump_to_namespace", |a| {
            run(a, Command::JumpToNamespace);
            typed(a, "soundspan");
        }),
        ("detail", |a| run(a, Command::OpenDetail)),
        ("budget", |a| run(a, Command::OpenBudget)),
        ("findings", |a| run(a, Command::OpenFindings)),
        ("audit", |a| run(a, Command::OpenAudit)),
        ("logs", |a| run(a, Command::OpenLogs)),
        ("log_filter", |a| {
            run(a, Command::OpenLogs);
            run(a, Command::Filter);
            typed(a, "err(");
        }),
        ("runbooks", |a| run(a, Command::OpenRunbooks)),
        ("run_params", |a| {
            run(a, Command::OpenRunbooks);
            run(a, Command::Confirm);
        }),
        ("stepper", |a| {
            run(a, Command::OpenRunbooks);
            let start = RunStart {
                runbook: "restart-safely".into(),
                namespace: "shop".into(),
                services: vec![None, Some("api".into())],
                rollbacks: vec![None, None],
                params: vec![("service".into(), "shop/api".into())],
                cluster: None,
            };
            a.on_runner(RunnerEvent::Started(start));
            let state = Box::new(interrupted_run());
            a.on_runner(RunnerEvent::Engine(crate::actions::runbook::engine::RunEvent::State(state)));
        }),
        ("confirm_name", |a| {
            run(a, Command::OpenRunbooks);
            super::app::tests_support::confirm_name(a, "api");
        }),
        ("skip_reason", |a| {
            run(a, Command::OpenRunbooks);
            super::app::tests_support::skip_reason(a);
        }),
        ("resume_offer", |a| a.offer_interrupted(vec![interrupted_run()])),
        ("scale_wizard", |a| run(a, Command::Scale)),
        ("revision_chooser", |a| {
            // The api sorts first among the healthy services: select it.
            while a.selected_service().is_some_and(|s| s.key.name != "api") {
                run(a, Command::MoveDown);
            }
            run(a, Command::RolloutUndo);
        }),
        ("palette", |a| {
            run(a, Command::CommandPalette);
            typed(a, "sc");
        }),
        ("picker", |a| run(a, Command::SwitchNamespace)),
        ("filter", |a| {
            run(a, Command::Filter);
            typed(a, "shop");
        }),
        ("help", |a| run(a, Command::Help)),
        ("nodes", open_nodes),
        ("nodes_rolling", |a| {
            open_nodes(a);
            run(a, Command::MoveDown);
            run(a, Command::MarkNode);
            run(a, Command::MoveUp);
            run(a, Command::MarkNode);
        }),
        ("drain_popup", |a| {
            open_nodes(a);
            run(a, Command::DrainNode);
            run(a, Command::Confirm);
        }),
        ("drain_progress", |a| {
            open_nodes(a);
            run(a, Command::MoveDown);
            run(a, Command::DrainNode);
            run(a, Command::Confirm);
            a.on_job(JobEvent::DrainChecked { node: "node-b".into(), result: Ok(()) });
            run(a, Command::Confirm);
            a.on_job(JobEvent::Draining { node: "node-b".into(), event: DrainEvent::Cordoned });
            a.on_job(JobEvent::Draining {
                node: "node-b".into(),
                event: DrainEvent::Evicted { pod: "shop/api-2".into() },
            });
        }),
    ]
}

/// The nodes screen with the cluster-wide look arrived.
fn open_nodes(app: &mut App) {
    run(app, Command::OpenNodes);
    app.on_job(JobEvent::Nodes { cluster: None, look: super::app::tests_support::nodes_look() });
}

/// The buffer as text, then its style runs line by line (`row: from..to style`).
fn render(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.push_str("--- styles ---\n");
    for y in 0..area.height {
        let mut runs: Vec<(u16, u16, Style)> = Vec::new();
        for x in 0..area.width {
            let style = buffer[(x, y)].style();
            match runs.last_mut() {
                Some((_, end, s)) if *s == style => *end = x,
                _ => runs.push((x, x, style)),
            }
        }
        let runs: Vec<String> = runs.iter().map(|(a, b, s)| format!("{a}..{b} {}", style_text(*s))).collect();
        let _ = writeln!(out, "{y}: {}", runs.join(" | "));
    }
    out
}

fn style_text(style: Style) -> String {
    let color = |c: Option<ratatui::style::Color>| c.map_or("-".to_string(), |c| c.to_string());
    let mut text = format!("{}/{}", color(style.fg), color(style.bg));
    if !style.add_modifier.is_empty() {
        let _ = write!(text, " +{:?}", style.add_modifier);
    }
    text
}

fn snapshot_path(name: &str, (width, height): (u16, u16)) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("src/ui/snapshots/{name}@{width}x{height}.txt"))
}

#[test]
fn every_screen_and_popup_looks_as_recorded() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut differ = Vec::new();
    for (name, reach) in scenes() {
        for &size in sizes(name) {
            let mut app = app(size.0, size.1);
            reach(&mut app);
            let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
            terminal.draw(|f| app.draw(f, now())).unwrap();
            let shown = render(terminal.backend().buffer());
            let path = snapshot_path(name, size);
            if update {
                std::fs::write(&path, &shown).unwrap();
                continue;
            }
            let recorded = std::fs::read_to_string(&path).unwrap_or_default();
            if recorded != shown {
                let _ = std::fs::write(path.with_extension("new"), &shown);
                differ.push(format!("{name} at {}x{}", size.0, size.1));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "drawn differently from the recorded snapshot (see src/ui/snapshots/*.new; \
         UPDATE_SNAPSHOTS=1 rewrites them): {differ:?}"
    );
}
