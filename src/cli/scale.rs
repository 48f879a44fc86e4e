//! `scale SERVICE N`: the cockpit's scale plan and guards, headless.

use color_eyre::Result;

use super::args::{GlobalArgs, ScaleArgs};
use super::change::{self, ChangeFlags};
use super::gitops_repo;
use crate::actions::scale::plan_scale;
use crate::config::paths::Paths;
use crate::exit::Exit;
use crate::model::budget::budget_of;
use crate::model::gitops::edit::Field;

pub async fn run(global: &GlobalArgs, args: ScaleArgs, paths: &Paths) -> Result<Exit> {
    let (snap, service) = change::find_service(global, &args.service).await?;
    let field = Field::Replicas(args.replicas);
    if let Some(repo) = &args.gitops_repo {
        return gitops_repo::change_in_git(&service, &field, repo, args.dry_run);
    }
    if service.gitops.is_some() {
        gitops_repo::print_patch(&service, &field);
    }
    let budget = budget_of(&snap.budgets, &service.key);
    let plan = plan_scale(&service, args.replicas, args.force, budget);
    change::run(&snap, paths, plan, ChangeFlags { dry_run: args.dry_run, yes: args.yes, read_only: global.read_only })
        .await
}
