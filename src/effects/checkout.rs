//! The local GitOps checkout (`--gitops-repo PATH`): its manifests read for a change in
//! git, and the edited files written. Nothing is committed or pushed: the operator
//! reviews, commits and pushes, and the GitOps controller applies it.

use std::path::{Path, PathBuf};

use crate::actions::git_edit::GitEdit;

/// Every `.yaml`/`.yml` file under `repo` with its text (hidden folders such as `.git`
/// skipped; unreadable files too).
pub fn read_manifests(repo: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    if !repo.is_dir() {
        return Err(format!("--gitops-repo {}: not a directory", repo.display()));
    }
    let mut paths = Vec::new();
    manifests(repo, &mut paths);
    Ok(paths.into_iter().filter_map(|p| std::fs::read_to_string(&p).ok().map(|text| (p, text))).collect())
}

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

/// Writes the edited files; answers how many were written.
pub fn write(edit: &GitEdit) -> Result<usize, String> {
    let mut written = 0;
    for file in edit.changed() {
        std::fs::write(&file.path, &file.text).map_err(|e| format!("cannot write {}: {e}", file.path.display()))?;
        written += 1;
    }
    Ok(written)
}
