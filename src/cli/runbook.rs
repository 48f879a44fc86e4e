//! `runbook list|show|validate|run`: runbooks headless. A run asks on the terminal before
//! each change and manual step (or not, with `--yes`), prints what happens, and can be
//! killed at any moment: `--resume` continues it from its state file.

use std::io::Write;
use std::time::{Duration, Instant};

use color_eyre::Result;
use tokio::sync::mpsc;

use super::args::{GlobalArgs, RunbookAction, RunbookRunArgs};
use super::change::{ask_terminal, confirmed, is_yes, print_preview};
use crate::actions::ActionPlan;
use crate::actions::drain;
use crate::actions::execute::{ExecContext, dry_run_text};
use crate::actions::runbook::engine::{self, Answer, Control, Io, Prompt, RunEvent};
use crate::actions::runbook::launch::{self, LaunchError, Request};
use crate::actions::runbook::state::{self, RunState, RunStatus};
use crate::actions::runbook::{NodeStep, StepPlan, more_increments, plan_step, project, resolve};
use crate::cluster::session::ClusterView;
use crate::config::paths::Paths;
use crate::config::runbook::{self as files, Fill, RunbookFile};
use crate::exit::{self, Exit};
use crate::model::runbook::{Runbook, duration_words};

/// Gate details of a waiting step are repeated this often, so a long wait is not silent.
const WAITING_EVERY: Duration = Duration::from_secs(15);

pub async fn run(global: &GlobalArgs, action: RunbookAction, paths: &Paths) -> Result<Exit> {
    match action {
        RunbookAction::List => list(paths),
        RunbookAction::Show { name } => show(&name, paths),
        RunbookAction::Validate { name } => validate(&name, paths),
        RunbookAction::Run(args) => run_one(global, args, paths).await,
    }
}

fn list(paths: &Paths) -> Result<Exit> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<28} {:<12} DESCRIPTION", "NAME", "FROM")?;
    for l in files::list(paths) {
        let origin = if l.origin == "built-in" { "built-in" } else { "config" };
        writeln!(out, "{:<28} {origin:<12} {}", l.name, l.description)?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}

fn problems_text(problems: &[crate::config::diagnostic::Diagnostic]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

fn load(file: &RunbookFile, fill: Fill<'_>) -> Result<Runbook> {
    files::load(file, fill).map_err(|p| exit::usage(problems_text(&p)))
}

fn show(name: &str, paths: &Paths) -> Result<Exit> {
    let file = files::find(name, paths).map_err(exit::usage)?;
    let runbook = load(&file, Fill::Check)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} ({})", runbook.name, file.label.display())?;
    if !runbook.description.is_empty() {
        writeln!(out, "  {}", runbook.description)?;
    }
    for p in files::declared_params(&file) {
        let default = p.default.map_or_else(|| "required".to_string(), |d| format!("default {d:?}"));
        writeln!(out, "  param {} ({default}) {}", p.name, p.description)?;
    }
    if let Some(ns) = &runbook.namespace {
        writeln!(out, "  namespace {ns}")?;
    }
    if !runbook.services.is_empty() {
        writeln!(out, "  services {}", runbook.services.join(", "))?;
    }
    for (i, step) in runbook.steps.iter().enumerate() {
        let when = if step.enabled { "" } else { " [skipped for the defaults]" };
        writeln!(out, "{:>3}. {} — {}{when}", i + 1, step.id, step.title)?;
        writeln!(out, "       {}", step.action.summary())?;
        for gate in &step.gates {
            writeln!(out, "       gate {} (timeout {})", gate.summary(), duration_words(gate.timeout_s()))?;
        }
        writeln!(out, "       on failure: {}", on_failure_text(&step.on_failure))?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}

fn on_failure_text(f: &crate::model::runbook::OnFailure) -> String {
    match f {
        crate::model::runbook::OnFailure::Stop => "stop".into(),
        crate::model::runbook::OnFailure::Continue => "continue".into(),
        crate::model::runbook::OnFailure::Runbook(name) => format!("run {name}"),
    }
}

fn validate(name: &str, paths: &Paths) -> Result<Exit> {
    let file = files::find(name, paths).map_err(exit::usage)?;
    let handovers = files::check_handovers(&file, paths);
    let loaded = files::load(&file, Fill::Check).and_then(|runbook| match handovers.is_empty() {
        true => Ok(runbook),
        false => Err(Vec::new()),
    });
    let loaded = loaded.map_err(|mut problems| {
        problems.extend(handovers);
        problems
    });
    match loaded {
        Ok(runbook) => {
            println!("{}: valid ({} steps)", file.label.display(), runbook.steps.len());
            Ok(Exit::Ok)
        }
        Err(problems) => {
            println!("{}", problems_text(&problems));
            println!("{}: {} problem(s)", file.label.display(), problems.len());
            Ok(Exit::Usage)
        }
    }
}

async fn run_one(global: &GlobalArgs, args: RunbookRunArgs, paths: &Paths) -> Result<Exit> {
    let given = files::parse_param_args(&args.params).map_err(exit::usage)?;
    let target = super::connect(global).await?;
    let request = Request {
        name: &args.name,
        params: &given,
        resume: args.resume,
        connection: target.connection.clone(),
        options: target.options.clone(),
        profiles: super::profiles(global, paths),
        paths,
    };
    let prepared = launch::prepare(request).await.map_err(launch_error)?;
    let conn = &prepared.connection;
    let exec = ExecContext::new(conn, paths.audit_log());
    if args.dry_run {
        return dry_run(&exec, &prepared.runbook, &prepared.view, &prepared.namespace).await;
    }
    if global.read_only {
        // Audited like every refused attempt, with what would have run.
        let target = format!("{}/runbook/{}", prepared.namespace, prepared.runbook.name);
        let params = serde_json::json!({ "params": prepared.runbook.params });
        exec.record_runbook(&target, params, serde_json::Value::Null, "refused: read-only")?;
        return Err(exit::refused("--read-only: runbooks are not run (--dry-run shows the plan)"));
    }
    let mut run = prepared.begin(args.resume, paths).map_err(launch_error)?;
    println!(
        "runbook {} on {} (context {}); state in {}",
        run.runbook.name,
        prepared.namespace,
        conn.context,
        run.path.display()
    );
    let (events, inbox) = mpsc::unbounded_channel();
    let (controls_tx, controls) = mpsc::unbounded_channel();
    let mut io = Io {
        exec,
        views: prepared.views.clone(),
        runs_dir: paths.runbook_state(),
        auto_confirm: args.yes,
        events,
        controls,
        related: prepared.related(paths),
    };
    let printer = tokio::spawn(operator(inbox, controls_tx, prepared.view.profile.production));
    let outcome = tokio::select! {
        outcome = engine::execute(&mut io, &mut run) => outcome,
        signal = termination() => {
            drop(io);
            printer.abort();
            eprintln!(
                "interrupted by {}: the run is saved; continue it with `runbook run {} --resume`",
                signal.name(),
                run.runbook.name
            );
            return Ok(Exit::Signalled(signal));
        }
    };
    drop(io);
    let _ = printer.await;
    summary(&run.state)?;
    Ok(match outcome.status {
        RunStatus::Passed => Exit::Ok,
        RunStatus::Declined => Exit::Declined,
        _ if outcome.refused => Exit::Refused,
        _ => Exit::Failed,
    })
}

fn launch_error(e: LaunchError) -> color_eyre::Report {
    match e {
        LaunchError::Usage(m) => exit::usage(m),
        LaunchError::Refused(m) => exit::refused(m),
        LaunchError::Cluster(m) => exit::cluster(m),
    }
}

/// Prints what the engine reports and answers its questions at the terminal.
async fn operator(
    mut inbox: mpsc::UnboundedReceiver<RunEvent>,
    controls: mpsc::UnboundedSender<Control>,
    production: bool,
) {
    let mut last_waiting: Option<(usize, Instant)> = None;
    while let Some(event) = inbox.recv().await {
        match event {
            RunEvent::Note(text) => println!("{text}"),
            RunEvent::State(state) => print_waiting(&state, &mut last_waiting),
            RunEvent::Ask(prompt) => {
                let answer = answer(prompt, production).await.unwrap_or(Answer::No);
                if controls.send(Control::Answer(answer)).is_err() {
                    return;
                }
            }
        }
    }
}

fn print_waiting(state: &RunState, last: &mut Option<(usize, Instant)>) {
    let Some((i, step)) = state.steps.iter().enumerate().find(|(_, s)| s.state == state::StepState::Waiting) else {
        return;
    };
    if last.is_some_and(|(at, when)| at == i && when.elapsed() < WAITING_EVERY) {
        return;
    }
    *last = Some((i, Instant::now()));
    for gate in step.gates.iter().filter(|g| !g.settled()) {
        println!("  waiting: {}: {}", gate.summary, gate.detail);
    }
}

async fn answer(prompt: Prompt, production: bool) -> Result<Answer> {
    match prompt {
        Prompt::Change { plan, dry_run, .. } => {
            print_preview(&plan)?;
            println!("  {:<18} {dry_run}", "server dry-run");
            Ok(if confirmed(&plan, production).await? { Answer::Yes } else { Answer::No })
        }
        Prompt::Node { node, what, preview, dry_run, typed_name, .. } => {
            for line in &preview {
                println!("  {line}");
            }
            println!("  {:<18} {dry_run}", "server dry-run");
            Ok(if super::drain::confirmed(&what, &node, typed_name).await? { Answer::Yes } else { Answer::No })
        }
        Prompt::Manual { checklist, .. } => {
            for item in &checklist {
                println!("  [ ] {item}");
            }
            let reply = ask_terminal("Confirm every item? [y/N, or s to skip this step] ".into()).await?;
            Ok(match reply.as_deref() {
                Some(r) if is_yes(r) => Answer::Yes,
                Some("s" | "skip") => {
                    let reason = ask_terminal("Why is it skipped? ".into()).await?.unwrap_or_default();
                    Answer::Skip(if reason.is_empty() { "skipped at the terminal".into() } else { reason })
                }
                _ => Answer::No,
            })
        }
    }
}

fn summary(state: &RunState) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for (i, step) in state.steps.iter().enumerate() {
        writeln!(out, "{:>3}. {:<9} {:<18} {}", i + 1, step.state.as_str(), step.id, step.detail)?;
        for gate in step.gates.iter().filter(|g| g.skipped()) {
            writeln!(out, "       gate skipped (nothing to judge): {}", gate.summary)?;
        }
    }
    if let Some(rollback) = &state.rollback {
        writeln!(out, "rollback: {rollback}")?;
    }
    writeln!(out, "runbook {}: {} — {}", state.runbook, state.status.as_str(), state.message)?;
    out.flush()
}

/// `--dry-run`: every step's plan, each on the outcome of the steps before it, with the
/// server's dry-run of each change. Nothing is changed; each dry-run is audited.
async fn dry_run(exec: &ExecContext, runbook: &Runbook, view: &ClusterView, namespace: &str) -> Result<Exit> {
    let mut services: Vec<crate::model::service::Service> = view.services.iter().map(|s| (**s).clone()).collect();
    let mut refused = false;
    for (i, step) in runbook.steps.iter().enumerate() {
        println!("{:>3}. {} — {}", i + 1, step.id, step.title);
        if !step.enabled {
            println!("       skipped for these parameters (when: false)");
            continue;
        }
        loop {
            let plan = plan_step(step, &services, &view.budgets, &|s| view.room(s), namespace, None)
                .map_err(|e| exit::usage(e.to_string()))?;
            match &plan {
                StepPlan::Manual { checklist } => checklist.iter().for_each(|c| println!("       [ ] {c}")),
                StepPlan::Wait { seconds } => println!("       wait {}", duration_words(*seconds)),
                StepPlan::Change(plan) => refused |= preview_one(exec, plan, &services).await?,
                StepPlan::Node(node_step) => refused |= preview_node(exec, node_step).await?,
            }
            project(&mut services, &plan);
            let current = step.action.service().and_then(|n| resolve(&services, n, namespace).ok());
            if !current.is_some_and(|s| more_increments(step, s)) {
                break;
            }
        }
        for gate in &step.gates {
            println!("       gate {}", gate.summary());
        }
    }
    println!("dry run: nothing was changed (later steps are previewed on what the earlier ones would change)");
    Ok(if refused { Exit::Refused } else { Exit::Ok })
}

/// Prints one change's preview and the server's dry-run of it; true when it is refused.
async fn preview_one(
    exec: &ExecContext,
    plan: &ActionPlan,
    services: &[crate::model::service::Service],
) -> Result<bool> {
    print_preview(plan)?;
    if let Some(guard) = plan.stopped_by() {
        exec.record_plan(plan, None, format!("refused: {}", guard.id))?;
        println!("  {:<18} {}", "refused", guard.message);
        return Ok(true);
    }
    let service = services.iter().find(|s| &s.key == plan.service());
    if service.and_then(|s| plan.already_applied(s)) == Some(true) {
        println!("  {:<18} already in the cluster: nothing to send", "server dry-run");
        return Ok(false);
    }
    // Later steps are previewed on a projection, and pods starting move the resourceVersion:
    // this asks only whether the server would take the change.
    let dry = exec.dry_run_plan(&plan.unconditional()).await;
    let text = dry_run_text(&dry);
    println!("  {:<18} {text}", "server dry-run");
    exec.record_plan(plan, Some(text), if dry.is_ok() { "dry-run" } else { "refused" })?;
    Ok(dry.is_err())
}

/// A node step's preview (a drain's plan and guards, on every namespace's pods and budgets)
/// and the server's dry-run of its calls; true when it is refused. Audited like the rest.
async fn preview_node(exec: &ExecContext, step: &NodeStep) -> Result<bool> {
    let node = step.node();
    let (action, dry) = match step {
        NodeStep::Drain { force, .. } => match drain::plan_node(exec, node, *force).await {
            Ok((planned, preview)) => {
                preview.iter().for_each(|line| println!("  {line}"));
                ("drain", drain::dry_run(exec, &planned).await)
            }
            Err(why) => {
                println!("  {:<18} {why}", "refused");
                return Ok(true);
            }
        },
        NodeStep::Cordon(_) | NodeStep::Uncordon(_) => {
            let cordon = matches!(step, NodeStep::Cordon(_));
            let action = if cordon { "cordon" } else { "uncordon" };
            println!("  {action} node {node}");
            (action, crate::cluster::nodes::set_cordon(&exec.client, node, cordon, true).await)
        }
    };
    let text = dry_run_text(&dry);
    println!("  {:<18} {text}", "server dry-run");
    let outcome = if dry.is_ok() { "dry-run".to_string() } else { format!("refused: {text}") };
    exec.record_refusal(action, format!("node/{node}"), outcome)?;
    Ok(dry.is_err())
}

/// The first terminating signal; never, when signals cannot be listened for.
async fn termination() -> crate::exit::Signal {
    match crate::exit::Terminations::listen() {
        Ok(mut terminations) => terminations.next().await,
        Err(_) => std::future::pending().await,
    }
}
