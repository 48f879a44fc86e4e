//! `scale SERVICE N`, `set-image SERVICE [C=]IMAGE` and `gitops suspend|resume SERVICE`:
//! the cockpit's plans and guards, headless.

use color_eyre::Result;

use super::args::{GitopsAction, GlobalArgs, ScaleArgs, SetImageArgs};
use super::change::{self, ChangeFlags};
use super::gitops_repo;
use crate::actions::change::{plan_gitops_suspend, plan_set_image};
use crate::actions::scale::plan_scale;
use crate::config::paths::Paths;
use crate::exit::Exit;
use crate::model::budget::budget_of;
use crate::model::capacity::room_for;
use crate::model::gitops::edit::Field;
use crate::model::services::node_capacity;

pub async fn run(global: &GlobalArgs, args: ScaleArgs, paths: &Paths) -> Result<Exit> {
    let (snap, service) = change::find_service(global, &args.service).await?;
    let field = Field::Replicas(args.replicas);
    if let Some(repo) = &args.gitops_repo {
        return gitops_repo::change_in_git(&snap, paths, &service, field, repo, args.dry_run);
    }
    if service.gitops.is_some() {
        gitops_repo::print_patch(&service, field);
    }
    let budget = budget_of(&snap.budgets, &service.key);
    let room = room_for(&node_capacity(snap.visibility, &snap.objects), &service.need);
    let plan = plan_scale(&service, args.replicas, args.force, budget, &room);
    change::run(&snap, paths, plan, ChangeFlags { dry_run: args.dry_run, yes: args.yes, read_only: global.read_only })
        .await
}

/// `set-image SERVICE [CONTAINER=]IMAGE`: the cockpit's set-image plan, or with
/// `--gitops-repo` the change in git.
pub async fn set_image(global: &GlobalArgs, args: SetImageArgs, paths: &Paths) -> Result<Exit> {
    let (snap, service) = change::find_service(global, &args.service).await?;
    let (container, image) = match args.image.split_once('=') {
        Some((c, i)) => (Some(c.trim()), i.trim()),
        None => (None, args.image.trim()),
    };
    let plan = plan_set_image(&service, container, image);
    let field = crate::actions::git_edit::field_of(&plan);
    match (&args.gitops_repo, field) {
        (Some(repo), Some(field)) if plan.stopped_by().is_none() => {
            return gitops_repo::change_in_git(&snap, paths, &service, field, repo, args.dry_run);
        }
        (None, Some(field)) if service.gitops.is_some() => gitops_repo::print_patch(&service, field),
        _ => {}
    }
    change::run(&snap, paths, plan, ChangeFlags { dry_run: args.dry_run, yes: args.yes, read_only: global.read_only })
        .await
}

/// `gitops suspend|resume SERVICE`: the runbook steps' plan, through the usual path.
pub async fn gitops(global: &GlobalArgs, action: GitopsAction, paths: &Paths) -> Result<Exit> {
    let (args, suspend) = match action {
        GitopsAction::Suspend(args) => (args, true),
        GitopsAction::Resume(args) => (args, false),
    };
    let (snap, service) = change::find_service(global, &args.service).await?;
    let plan = plan_gitops_suspend(&service, suspend);
    change::run(&snap, paths, plan, ChangeFlags { dry_run: args.dry_run, yes: args.yes, read_only: global.read_only })
        .await
}
