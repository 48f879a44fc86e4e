//! The one headless path of every change (`scale`, `rollout …`): print the preview, stop
//! on a guard, ask the server for a dry-run, confirm (unless `--yes`), apply with the
//! precondition, record each attempt in the audit log, and follow the rollout.

use std::io::{BufRead, IsTerminal, Write};

use color_eyre::Result;

use super::args::GlobalArgs;
use super::snapshot::{self, Snapshot};
use crate::actions::ActionPlan;
use crate::actions::execute::{ExecContext, FOLLOW_FOR, dry_run_text};
use crate::actions::guard::Verdict;
use crate::cluster::mutate::RolloutEnd;
use crate::config::paths::Paths;
use crate::exit::{self, Exit};
use crate::model::service::Service;
use crate::model::service_ref::ServiceRef;

/// `--dry-run` and `--yes`, as every change command has them, and `--read-only`.
pub struct ChangeFlags {
    pub dry_run: bool,
    pub yes: bool,
    /// The preview is shown and the attempt audited, then refused.
    pub read_only: bool,
}

/// The service a command names, from one synced look at its namespace.
pub async fn find_service(global: &GlobalArgs, service: &str) -> Result<(Snapshot, Service)> {
    let wanted = ServiceRef::parse(service).map_err(exit::usage)?;
    let snap = snapshot::take(global, wanted.namespace.as_deref().or(global.namespace.as_deref())).await?;
    let found = match wanted.resolve(&snap.services, &snap.target.connection.namespace) {
        Ok(found) => found.clone(),
        Err(why) => return Err(not_found(&snap, &wanted, why)),
    };
    Ok((snap, found))
}

/// A service that is not there, or that this user may not see: RBAC is a refusal (4)
/// naming the permission, never "no such service" (2), which would send the operator
/// looking for a typo.
fn not_found(snap: &Snapshot, wanted: &ServiceRef, why: String) -> color_eyre::Report {
    use crate::cluster::watch::ResourceKind;
    use crate::model::service::WorkloadKind;
    let could_be = |kind: ResourceKind| match kind {
        ResourceKind::Deployments => wanted.kind != Some(WorkloadKind::StatefulSet),
        ResourceKind::StatefulSets => wanted.kind != Some(WorkloadKind::Deployment),
        _ => false,
    };
    let missing: Vec<&str> =
        snap.forbidden.iter().filter(|(kind, _)| could_be(*kind)).map(|(_, p)| p.as_str()).collect();
    if missing.is_empty() {
        return exit::usage(why);
    }
    exit::refused(format!(
        "RBAC: {} cannot be looked up: you may not {} (as {})",
        wanted.name,
        missing.join(", nor "),
        snap.target.connection.user.as_deref().unwrap_or("the current user")
    ))
}

pub async fn run(snap: &Snapshot, paths: &Paths, plan: ActionPlan, flags: ChangeFlags) -> Result<Exit> {
    print_preview(&plan)?;
    let exec = ExecContext::new(&snap.target.connection, paths.audit_log());
    if flags.read_only {
        exec.record_plan(&plan, None, "refused: read-only")?;
        return Err(exit::refused(format!("--read-only: {} is not performed", plan.describe())));
    }
    if let Some(guard) = plan.stopped_by() {
        exec.record_plan(&plan, None, format!("refused: {}", guard.id))?;
        let hint = if guard.verdict == Verdict::Refuse { " (--force overrides it)" } else { "" };
        return Err(exit::refused(format!("{}{hint}", guard.message)));
    }
    let dry = exec.dry_run_plan(&plan).await;
    let dry_text = dry_run_text(&dry);
    println!("server dry-run: {dry_text}");
    if let Err(e) = dry {
        exec.record_plan(&plan, Some(dry_text), format!("refused: {e}"))?;
        return Err(exit::refused(format!("the API server refused the change: {e}")));
    }
    if flags.dry_run {
        exec.record_plan(&plan, Some(dry_text), "dry-run")?;
        return Ok(Exit::Ok);
    }
    if !flags.yes && !confirmed(&plan, snap.production).await? {
        exec.record_plan(&plan, Some(dry_text), "declined")?;
        return Err(exit::declined("not confirmed; nothing was changed (pass --yes to skip the question)"));
    }
    if let Err(e) = exec.apply_plan(&plan, &dry_text).await {
        return Err(exit::refused(format!("{} failed: {e}", plan.describe())));
    }
    println!("applied: {}", plan.describe());
    if !plan.rolls_pods() {
        return Ok(Exit::Ok);
    }
    println!("following the rollout…");
    match exec.follow_service(plan.service()).await {
        Ok(RolloutEnd::Complete) => {
            println!("{}", plan.rolled_out_message());
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

/// The preview as text: what changes, each guard with its alternative, the kubectl command.
pub(super) fn print_preview(plan: &ActionPlan) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", plan.describe())?;
    for line in plan.preview() {
        writeln!(out, "  {:<18} {}", line.label, line.text)?;
    }
    for guard in plan.guards() {
        let tag = if guard.verdict == Verdict::Refuse && plan.force() { "overridden" } else { plan.guard_tag(guard) };
        writeln!(out, "  {tag:<18} {}", guard.message)?;
        if let Some(alternative) = &guard.alternative {
            writeln!(out, "  {:<18} {alternative}", "instead")?;
        }
    }
    if !plan.kubectl().is_empty() {
        writeln!(out, "  {:<18} {}", "kubectl", plan.kubectl())?;
    }
    out.flush()
}

/// Asks on the terminal: `y`, or the service name when a guard was overridden. Without a
/// terminal there is nobody to ask: not confirmed.
pub(super) async fn confirmed(plan: &ActionPlan, production: bool) -> Result<bool> {
    let name = plan.service().name.clone();
    let typed = plan.needs_typed_name(production);
    let question = if plan.overrides_a_guard() {
        format!("A guard is overridden. Type the service name ({name}) to {}: ", plan.describe())
    } else if typed {
        format!("This context is production. Type the service name ({name}) to {}: ", plan.describe())
    } else {
        format!("{}? [y/N] ", plan.describe())
    };
    let Some(answer) = ask_terminal(question).await? else { return Ok(false) };
    Ok(if typed { answer == name } else { is_yes(&answer) })
}

/// `y`, `Y` or `yes`.
pub(super) fn is_yes(answer: &str) -> bool {
    matches!(answer, "y" | "Y" | "yes")
}

/// One line typed at the terminal after `question` (trimmed); `None` without a terminal.
pub(super) async fn ask_terminal(question: String) -> Result<Option<String>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let answer = tokio::task::spawn_blocking(move || {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await??;
    Ok(Some(answer.trim().to_string()))
}
