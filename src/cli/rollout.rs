//! `rollout restart|pause|resume|history|undo SERVICE`: the same plans, guards, dry-run,
//! confirmation and audit trail as `scale`.

use std::io::Write;

use color_eyre::Result;

use super::args::{GlobalArgs, RolloutAction, RolloutArgs};
use super::scale::{ask, print_preview};
use super::snapshot;
use crate::actions::ActionPlan;
use crate::actions::execute::{ExecContext, FOLLOW_FOR, dry_run_text};
use crate::actions::rollout::{RolloutRequest, plan_rollout};
use crate::actions::target::ServiceRef;
use crate::cluster::mutate::RolloutEnd;
use crate::config::paths::Paths;
use crate::exit::{self, Exit};
use crate::model::sanitize::clean;
use crate::model::service::Service;

pub async fn run(global: &GlobalArgs, action: RolloutAction, paths: &Paths) -> Result<Exit> {
    let (request, args) = match action {
        RolloutAction::History(args) => return history(global, args).await,
        RolloutAction::Restart(args) => (RolloutRequest::Restart, args),
        RolloutAction::Pause(args) => (RolloutRequest::Pause, args),
        RolloutAction::Resume(args) => (RolloutRequest::Resume, args),
        RolloutAction::Undo(args) => (RolloutRequest::Undo(args.to_revision), args),
    };
    if global.read_only {
        return Err(exit::refused("--read-only: rollout changes are not performed"));
    }
    let (snap, service) = find(global, &args).await?;
    let plan = plan_rollout(&service, request);
    print_preview(&plan.describe(), &plan.preview, &plan.guards, false, &plan.kubectl)?;
    let conn = &snap.target.connection;
    let exec = ExecContext {
        client: conn.client.clone(),
        context: conn.context.clone(),
        user: conn.user.clone(),
        audit_log: paths.audit_log(),
    };
    if let Some(guard) = plan.stopped_by() {
        exec.record_rollout(&plan, None, format!("refused: {}", guard.id))?;
        return Err(exit::refused(guard.message.clone()));
    }
    let dry = exec.rollout(&plan, true).await;
    let dry_text = dry_run_text(&dry);
    println!("server dry-run: {dry_text}");
    if let Err(e) = dry {
        exec.record_rollout(&plan, Some(dry_text), format!("refused: {e}"))?;
        return Err(exit::refused(format!("the API server refused the change: {e}")));
    }
    if args.dry_run {
        exec.record_rollout(&plan, Some(dry_text), "dry-run")?;
        return Ok(Exit::Ok);
    }
    if !args.yes && !ask(format!("{}? [y/N] ", plan.describe()), None).await? {
        exec.record_rollout(&plan, Some(dry_text), "declined")?;
        return Err(exit::declined("not confirmed; nothing was changed (pass --yes to skip the question)"));
    }
    if let Err(e) = exec.apply_plan(&ActionPlan::Rollout(plan.clone()), &dry_text).await {
        return Err(exit::refused(format!("{} failed: {e}", plan.describe())));
    }
    println!("applied: {}", plan.describe());
    if !plan.change.is_some_and(|c| c.rolls_pods()) {
        return Ok(Exit::Ok);
    }
    println!("following the rollout…");
    match exec.follow_service(&plan.service).await {
        Ok(RolloutEnd::Complete) => {
            println!("rolled out");
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

async fn find(global: &GlobalArgs, args: &RolloutArgs) -> Result<(snapshot::Snapshot, Service)> {
    let wanted = ServiceRef::parse(&args.service).map_err(exit::usage)?;
    let snap = snapshot::take(global, wanted.namespace.as_deref().or(global.namespace.as_deref())).await?;
    let service = wanted.resolve(&snap.services, &snap.target.connection.namespace).map_err(exit::usage)?.clone();
    Ok((snap, service))
}

/// `rollout history`: the revisions the model knows, newest first.
async fn history(global: &GlobalArgs, args: RolloutArgs) -> Result<Exit> {
    let (_snap, service) = find(global, &args).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<9} {:<9} {:<50} CHANGE-CAUSE", "REVISION", "REPLICAS", "IMAGES")?;
    let mut revisions = service.revisions.clone();
    revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    for r in &revisions {
        let revision = format!("{}{}", r.revision, if r.current { " *" } else { "" });
        let cause = r.change_cause.as_deref().map_or("<none>".into(), clean);
        writeln!(out, "{revision:<9} {:<9} {:<50} {cause}", r.replicas, clean(&r.images.join(",")))?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}
