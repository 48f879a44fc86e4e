//! `scale SERVICE N`: the same plan and guards as the cockpit's wizard, headless. Preview,
//! server-side dry-run, confirmation (unless `--yes`), the change with its precondition,
//! the audit entry, then the rollout followed to its end.

use std::io::{BufRead, IsTerminal, Write};

use color_eyre::Result;

use super::args::{GlobalArgs, ScaleArgs};
use super::snapshot;
use crate::actions::execute::{ExecContext, FOLLOW_FOR, dry_run_text};
use crate::actions::scale::{Guard, PreviewLine, ScalePlan, Verdict, plan_scale};
use crate::actions::target::ServiceRef;
use crate::cluster::mutate::RolloutEnd;
use crate::config::paths::Paths;
use crate::exit::{self, Exit};

pub async fn run(global: &GlobalArgs, args: ScaleArgs, paths: &Paths) -> Result<Exit> {
    if global.read_only {
        return Err(exit::refused("--read-only: scale is not performed"));
    }
    let wanted = ServiceRef::parse(&args.service).map_err(exit::usage)?;
    let snap = snapshot::take(global, wanted.namespace.as_deref().or(global.namespace.as_deref())).await?;
    let conn = &snap.target.connection;
    let service = wanted.resolve(&snap.services, &conn.namespace).map_err(exit::usage)?;
    let plan = plan_scale(service, args.replicas, args.force);
    print_plan(&plan)?;
    let exec = ExecContext {
        client: conn.client.clone(),
        context: conn.context.clone(),
        user: conn.user.clone(),
        audit_log: paths.audit_log(),
    };
    if let Some(guard) = plan.stopped_by() {
        exec.record(&plan, None, format!("refused: {}", guard.id))?;
        let hint = if guard.verdict == Verdict::Refuse { " (--force overrides it)" } else { "" };
        return Err(exit::refused(format!("{}{hint}", guard.message)));
    }
    let dry = exec.dry_run(&plan).await;
    let dry_text = dry_run_text(&dry);
    println!("server dry-run: {dry_text}");
    if let Err(e) = dry {
        exec.record(&plan, Some(dry_text), format!("refused: {e}"))?;
        return Err(exit::refused(format!("the API server refused the change: {e}")));
    }
    if args.dry_run {
        exec.record(&plan, Some(dry_text), "dry-run")?;
        return Ok(Exit::Ok);
    }
    if !args.yes && !confirmed(&plan).await? {
        exec.record(&plan, Some(dry_text), "declined")?;
        return Err(exit::declined("not confirmed; nothing was changed (pass --yes to skip the question)"));
    }
    if let Err(e) = exec.apply(&plan, &dry_text).await {
        return Err(exit::refused(format!("{} failed: {e}", plan.describe())));
    }
    println!("applied: {}; following the rollout…", plan.describe());
    match exec.follow(&plan).await {
        Ok(RolloutEnd::Complete) => {
            println!("rolled out: {} replicas ready", plan.to);
            Ok(Exit::Ok)
        }
        Ok(RolloutEnd::TimedOut) => {
            eprintln!("warning: not rolled out after {}s; the change stays applied", FOLLOW_FOR.as_secs());
            Ok(Exit::Failed)
        }
        Err(e) => {
            eprintln!("warning: stopped following the rollout: {e}; the change stays applied");
            Ok(Exit::Failed)
        }
    }
}

fn print_plan(plan: &ScalePlan) -> std::io::Result<()> {
    print_preview(&plan.describe(), &plan.preview, &plan.guards, plan.force, &plan.kubectl)
}

/// The preview as text: what changes, each guard with its alternative, the kubectl command.
pub(super) fn print_preview(
    title: &str,
    preview: &[PreviewLine],
    guards: &[Guard],
    force: bool,
    kubectl: &str,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{title}")?;
    for line in preview {
        writeln!(out, "  {:<18} {}", line.label, line.text)?;
    }
    for guard in guards {
        let tag = match guard.verdict {
            Verdict::Block => "blocked",
            Verdict::Refuse if force => "overridden",
            Verdict::Refuse => "refused",
            Verdict::Warn => "warning",
        };
        writeln!(out, "  {tag:<18} {}", guard.message)?;
        if let Some(alternative) = &guard.alternative {
            writeln!(out, "  {:<18} {alternative}", "instead")?;
        }
    }
    writeln!(out, "  {:<18} {kubectl}", "kubectl")?;
    out.flush()
}

/// Asks on the terminal; a plain `y` normally, the service name when a guard was
/// overridden.
async fn confirmed(plan: &ScalePlan) -> Result<bool> {
    let name = plan.service.name.clone();
    if plan.overrides_a_guard() {
        ask(format!("A guard is overridden. Type the service name ({name}) to {}: ", plan.describe()), Some(name)).await
    } else {
        ask(format!("{}? [y/N] ", plan.describe()), None).await
    }
}

/// One question on the terminal: `y` (or, with `expected`, that exact text) confirms.
/// Without a terminal there is nobody to ask: not confirmed.
pub(super) async fn ask(question: String, expected: Option<String>) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let answer = tokio::task::spawn_blocking(move || {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await??;
    let answer = answer.trim();
    Ok(match expected {
        Some(expected) => answer == expected,
        None => matches!(answer, "y" | "Y" | "yes"),
    })
}
