//! `scale SERVICE N`: the same plan and guards as the cockpit's wizard, headless. Preview,
//! server-side dry-run, confirmation (unless `--yes`), the change with its precondition,
//! the audit entry, then the rollout followed to its end.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use color_eyre::Result;
use serde_json::json;

use super::args::{GlobalArgs, ScaleArgs};
use super::snapshot;
use crate::actions::audit::{self, AuditEntry};
use crate::actions::scale::{ScalePlan, Verdict, plan_scale, target_text};
use crate::actions::target::ServiceRef;
use crate::cluster::mutate::{self, RolloutEnd};
use crate::config::paths::Paths;
use crate::exit::{self, Exit};

/// How long the command follows the rollout before it says so and stops waiting.
const FOLLOW_FOR: Duration = Duration::from_secs(300);

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
    let record = |dry_run: Option<String>, outcome: String| {
        let entry = AuditEntry {
            time: jiff::Timestamp::now().to_string(),
            context: conn.context.clone(),
            user: conn.user.clone(),
            action: "scale".into(),
            target: target_text(&plan.service),
            before: json!({"replicas": plan.from}),
            after: json!({"replicas": plan.to}),
            dry_run,
            outcome,
        };
        audit::append(&paths.audit_log(), &entry)
    };
    if let Some(guard) = plan.stopped_by() {
        record(None, format!("refused: {}", guard.id))?;
        let hint = if guard.verdict == Verdict::Refuse { " (--force overrides it)" } else { "" };
        return Err(exit::refused(format!("{}{hint}", guard.message)));
    }
    let dry = mutate::scale(&conn.client, &plan.service, plan.to, plan.resource_version.as_deref(), true).await;
    let dry_text = match &dry {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    println!("server dry-run: {dry_text}");
    if let Err(e) = dry {
        record(Some(dry_text), format!("refused: {e}"))?;
        return Err(exit::refused(format!("the API server refused the change: {e}")));
    }
    if args.dry_run {
        record(Some(dry_text), "dry-run".into())?;
        return Ok(Exit::Ok);
    }
    if !args.yes && !confirmed(&plan).await? {
        record(Some(dry_text), "declined".into())?;
        return Err(exit::declined("not confirmed; nothing was changed (pass --yes to skip the question)"));
    }
    let applied = mutate::scale(&conn.client, &plan.service, plan.to, plan.resource_version.as_deref(), false).await;
    match applied {
        Ok(()) => record(Some(dry_text), "applied".into())?,
        Err(e) => {
            record(Some(dry_text), format!("failed: {e}"))?;
            return Err(exit::refused(format!("{} failed: {e}", plan.describe())));
        }
    }
    println!("applied: {}; following the rollout…", plan.describe());
    match mutate::await_rollout(&conn.client, &plan.service, FOLLOW_FOR).await {
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
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", plan.describe())?;
    for line in &plan.preview {
        writeln!(out, "  {:<18} {}", line.label, line.text)?;
    }
    for guard in &plan.guards {
        let tag = match guard.verdict {
            Verdict::Block => "blocked",
            Verdict::Refuse if plan.force => "overridden",
            Verdict::Refuse => "refused",
            Verdict::Warn => "warning",
        };
        writeln!(out, "  {tag:<18} {}", guard.message)?;
        if let Some(alternative) = &guard.alternative {
            writeln!(out, "  {:<18} {alternative}", "instead")?;
        }
    }
    writeln!(out, "  {:<18} {}", "kubectl", plan.kubectl)?;
    out.flush()
}

/// Asks on the terminal; a plain `y` normally, the service name when a guard was
/// overridden. Without a terminal there is nobody to ask: not confirmed.
async fn confirmed(plan: &ScalePlan) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let name = plan.service.name.clone();
    let question = if plan.overrides_a_guard() {
        format!("A guard is overridden. Type the service name ({name}) to {}: ", plan.describe())
    } else {
        format!("{}? [y/N] ", plan.describe())
    };
    let overridden = plan.overrides_a_guard();
    let answer = tokio::task::spawn_blocking(move || {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await??;
    let answer = answer.trim();
    Ok(if overridden { answer == name } else { matches!(answer, "y" | "Y" | "yes") })
}
