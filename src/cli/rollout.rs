//! `rollout restart|pause|resume|history|undo SERVICE`: the same plans, guards, dry-run,
//! confirmation and audit trail as `scale`.

use std::io::Write;

use color_eyre::Result;

use super::args::{GlobalArgs, RolloutAction, RolloutArgs};
use super::change::{self, ChangeFlags};
use crate::actions::rollout::{RolloutRequest, plan_rollout};
use crate::config::paths::Paths;
use crate::exit::Exit;
use crate::model::sanitize::clean;

pub async fn run(global: &GlobalArgs, action: RolloutAction, paths: &Paths) -> Result<Exit> {
    let (request, args) = match action {
        RolloutAction::History(args) => return history(global, args).await,
        RolloutAction::Restart(args) => (RolloutRequest::Restart, args),
        RolloutAction::Pause(args) => (RolloutRequest::Pause, args),
        RolloutAction::Resume(args) => (RolloutRequest::Resume, args),
        RolloutAction::Undo(args) => (RolloutRequest::Undo(args.to_revision), args),
    };
    let (snap, service) = change::find_service(global, &args.service).await?;
    let plan = plan_rollout(&service, request);
    change::run(&snap, paths, plan, ChangeFlags { dry_run: args.dry_run, yes: args.yes, read_only: global.read_only })
        .await
}

/// `rollout history`: the revisions the model knows, newest first.
async fn history(global: &GlobalArgs, args: RolloutArgs) -> Result<Exit> {
    let (_snap, service) = change::find_service(global, &args.service).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<9} {:<9} {:<50} CHANGE-CAUSE", "REVISION", "REPLICAS", "IMAGES")?;
    let mut revisions = service.revisions.clone();
    revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    for r in &revisions {
        let revision = format!("{}{}", r.revision, if r.current { " *" } else { "" });
        let cause = r.change_cause.as_deref().map_or("<none>".into(), clean);
        writeln!(out, "{revision:<9} {:<9} {:<50} {cause}", r.replicas, clean(&r.images().join(",")))?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}
