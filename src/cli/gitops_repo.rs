//! "Change it in git" (`scale … --gitops-repo PATH`): the manifest in a local checkout
//! that sets the workload is edited and the diff shown; nothing is committed or pushed.
//! Without a checkout, the preview of a change to a GitOps-owned service prints the patch
//! to put in git.

use std::path::{Path, PathBuf};

use color_eyre::Result;

use crate::exit::{self, Exit};
use crate::model::gitops::edit::{self, Field, Target};
use crate::model::sanitize::clean;
use crate::model::service::Service;

fn target(service: &Service) -> Target<'_> {
    Target { kind: service.key.kind.as_str(), name: &service.key.name, namespace: &service.key.namespace }
}

/// The YAML patch that makes the change in git, under the preview.
pub fn print_patch(service: &Service, field: &Field) {
    let owner = service.gitops.as_ref().map_or_else(String::new, |g| format!(" ({} applies it)", g.describe()));
    println!("in git{owner}, as a patch to commit:");
    let container = service.containers.first().map(|c| c.container.as_str());
    for line in edit::patch_yaml(target(service), field, container).lines() {
        println!("  {}", clean(line));
    }
}

/// Edits the manifests of `repo` that set the workload; `dry_run` shows the diff only.
pub fn change_in_git(service: &Service, field: &Field, repo: &Path, dry_run: bool) -> Result<Exit> {
    if !repo.is_dir() {
        return Err(exit::usage(format!("--gitops-repo {}: not a directory", repo.display())));
    }
    let mut files = Vec::new();
    manifests(repo, &mut files);
    files.sort();
    let mut changed = 0;
    let mut found = 0;
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let Some((edited, edits)) = edit::edit(&text, target(service), field) else { continue };
        found += 1;
        let shown = file.strip_prefix(repo).unwrap_or(&file).display().to_string();
        if edits.is_empty() {
            println!("{shown}: already says so");
            continue;
        }
        println!("--- a/{shown}\n+++ b/{shown}");
        for e in &edits {
            println!("@@ line {} @@", e.line);
            if !e.before.is_empty() {
                println!("-{}", clean(&e.before));
            }
            println!("+{}", clean(&e.after));
        }
        if !dry_run {
            std::fs::write(&file, edited)
                .map_err(|e| exit::refused(format!("cannot write {}: {e}", file.display())))?;
        }
        changed += 1;
    }
    if found == 0 {
        print_patch(service, field);
        return Err(exit::refused(format!(
            "no manifest in {} is {} {}/{}: nothing was written (the patch above is what to add)",
            repo.display(),
            service.key.kind.as_str(),
            service.key.namespace,
            service.key.name
        )));
    }
    match (changed, dry_run) {
        (0, _) => println!("git already says so: nothing to change"),
        (_, true) => println!("--dry-run: nothing was written"),
        (n, false) => println!("written to {n} file(s); nothing was committed or pushed: review, commit and push"),
    }
    Ok(Exit::Ok)
}

/// Every `.yaml`/`.yml` file under `dir`, hidden folders (`.git`) skipped.
fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_dir() && !hidden {
            manifests(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}
