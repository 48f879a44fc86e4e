//! "Change it in git" headless (`scale|set-image … --gitops-repo PATH`): the manifest of a
//! local checkout that sets the field is edited (the plan is `actions::git_edit`, the
//! files `effects::checkout`), the diff shown and the attempt audited; nothing is
//! committed or pushed. Without a checkout, the preview prints the patch to put in git.

use std::path::Path;

use color_eyre::Result;

use super::snapshot::Snapshot;
use crate::actions::execute::ExecContext;
use crate::actions::git_edit::{GitEdit, plan_git_edit};
use crate::config::paths::Paths;
use crate::effects::checkout;
use crate::exit::{self, Exit};
use crate::model::gitops::edit::Field;
use crate::model::sanitize::clean;
use crate::model::service::Service;

/// The YAML patch that makes the change in git, under the preview.
pub fn print_patch(service: &Service, field: Field) {
    print_patch_of(&plan_git_edit(service, field, None, &[]));
}

fn print_patch_of(edit: &GitEdit) {
    let owner = edit.owner.as_ref().map_or_else(String::new, |o| format!(" ({o} applies it)"));
    println!("in git{owner}, as a patch to commit:");
    for line in edit.patch().lines() {
        println!("  {}", clean(line));
    }
}

/// Edits the manifests of `repo` that set the field; `dry_run` shows the diff only.
pub fn change_in_git(
    snap: &Snapshot,
    paths: &Paths,
    service: &Service,
    field: Field,
    repo: &Path,
    dry_run: bool,
) -> Result<Exit> {
    let manifests = checkout::read_manifests(repo).map_err(exit::usage)?;
    let edit = plan_git_edit(service, field, Some(repo), &manifests);
    let exec = ExecContext::new(&snap.target.connection, paths.audit_log());
    if let Some(why) = edit.why_not() {
        print_patch_of(&edit);
        exec.record_git_edit(&edit, format!("refused: {why}"))?;
        return Err(exit::refused(why));
    }
    for line in edit.diff() {
        println!("{line}");
    }
    let changed = edit.changed().count();
    if changed == 0 {
        println!("git already says so: nothing to change");
        return Ok(Exit::Ok);
    }
    if dry_run {
        exec.record_git_edit(&edit, "dry-run".into())?;
        println!("--dry-run: nothing was written");
        return Ok(Exit::Ok);
    }
    let written = checkout::write(&edit).map_err(exit::refused);
    exec.record_git_edit(
        &edit,
        written.as_ref().map_or_else(|e| format!("failed: {e}"), |n| format!("written: {n} file(s)")),
    )?;
    let n = written?;
    println!("written to {n} file(s); nothing was committed or pushed: review, commit and push");
    Ok(Exit::Ok)
}
