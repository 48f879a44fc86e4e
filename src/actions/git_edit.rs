//! "Change it in git" as a plan: which manifest of a local checkout sets the field a
//! change on a GitOps-owned service touches (the workload's own manifest, or for a
//! HelmRelease-owned one the HelmRelease's values), the diff, and the YAML patch to copy
//! when there is no checkout or no such manifest. Pure: the files are read and written by
//! `effects::checkout`; nothing is ever committed or pushed.

use std::path::{Path, PathBuf};

use super::change::Change;
use super::plan::{Action, ActionPlan, target_text};
use crate::model::gitops::OwnerKind;
use crate::model::gitops::edit::{self, Field, HELM_RELEASE, LineEdit, Target};
use crate::model::sanitize::clean;
use crate::model::service::{Service, ServiceKey};

/// One file of the checkout that sets the field, edited (not yet written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEdit {
    pub path: PathBuf,
    /// The path inside the checkout, as the diff names it.
    pub shown: String,
    pub text: String,
    /// Empty: the file already says so.
    pub edits: Vec<LineEdit>,
}

/// The change in git for one service: what is edited where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitEdit {
    pub service: ServiceKey,
    pub field: Field,
    /// `Deployment`/`StatefulSet` (the workload's manifest) or `HelmRelease` (its values).
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// `Flux Kustomization flux-system/apps`, when the service has an owner.
    pub owner: Option<String>,
    pub container: Option<String>,
    /// `None`: no checkout given, the patch is the answer.
    pub repo: Option<PathBuf>,
    pub files: Vec<FileEdit>,
}

/// What the change in git sets, from the plan of the same change on the cluster: a
/// scale's replicas, a set-image's image. `None`: nothing git would set for it.
pub fn field_of(plan: &ActionPlan) -> Option<Field> {
    match &plan.action {
        Action::Scale(scale) => Some(Field::Replicas(scale.to)),
        Action::Change(Change::SetImage { image, from, .. }) => {
            Some(Field::Image { old: from.clone(), new: image.clone() })
        }
        _ => None,
    }
}

/// The change of `field` on `service` in the checkout `repo`, given its YAML files
/// (`manifests`: path and text). A HelmRelease-owned workload is rendered by the chart:
/// the HelmRelease's values are what git holds.
pub fn plan_git_edit(service: &Service, field: Field, repo: Option<&Path>, manifests: &[(PathBuf, String)]) -> GitEdit {
    let owner = service.gitops.as_ref();
    let helm = owner.filter(|g| g.owner.kind == OwnerKind::HelmRelease);
    let (kind, name, namespace) = match helm {
        Some(g) => {
            let ns = g.state.as_ref().map(|s| s.namespace.clone()).or_else(|| g.owner.namespace.clone());
            (HELM_RELEASE.to_string(), g.owner.name.clone(), ns.unwrap_or_else(|| service.key.namespace.clone()))
        }
        None => (service.key.kind.as_str().to_string(), service.key.name.clone(), service.key.namespace.clone()),
    };
    let mut git = GitEdit {
        service: service.key.clone(),
        field,
        kind,
        name,
        namespace,
        owner: owner.map(|g| g.describe()),
        container: service.containers.first().map(|c| c.container.clone()),
        repo: repo.map(Path::to_path_buf),
        files: Vec::new(),
    };
    let mut sorted: Vec<&(PathBuf, String)> = manifests.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, text) in sorted {
        let Some((edited, edits)) = edit::edit(text, git.target(), &git.field) else { continue };
        let inside = repo.and_then(|r| path.strip_prefix(r).ok()).unwrap_or(path);
        git.files.push(FileEdit { path: path.clone(), shown: inside.display().to_string(), text: edited, edits });
    }
    git
}

impl GitEdit {
    fn target(&self) -> Target<'_> {
        Target { kind: &self.kind, name: &self.name, namespace: &self.namespace }
    }

    /// `replicas 5`, `image ghcr.io/acme/api:1.1`.
    fn setting(&self) -> String {
        match &self.field {
            Field::Replicas(n) => format!("replicas {n}"),
            Field::Image { new, .. } => format!("image {new}"),
        }
    }

    /// `change in git: replicas 5 for shop/deploy/api (HelmRelease shop/web's values)`.
    pub fn describe(&self) -> String {
        let what = if self.kind == HELM_RELEASE {
            format!(" (the values of HelmRelease {}/{})", self.namespace, self.name)
        } else {
            String::new()
        };
        clean(&format!("change in git: {} for {}{what}", self.setting(), target_text(&self.service)))
    }

    /// Whether some file of the checkout is the workload (or its HelmRelease).
    pub fn found(&self) -> bool {
        !self.files.is_empty()
    }

    /// The files to write.
    pub fn changed(&self) -> impl Iterator<Item = &FileEdit> {
        self.files.iter().filter(|f| !f.edits.is_empty())
    }

    /// The YAML patch to put in git by hand.
    pub fn patch(&self) -> String {
        edit::patch_yaml(self.target(), &self.field, self.container.as_deref())
    }

    /// The unified-style diff of the edits, sanitized for the screen.
    pub fn diff(&self) -> Vec<String> {
        let mut out = Vec::new();
        for file in &self.files {
            if file.edits.is_empty() {
                out.push(clean(&format!("{}: already says so", file.shown)));
                continue;
            }
            out.push(clean(&format!("--- a/{}", file.shown)));
            out.push(clean(&format!("+++ b/{}", file.shown)));
            for e in &file.edits {
                out.push(format!("@@ line {} @@", e.line));
                if !e.before.is_empty() {
                    out.push(clean(&format!("-{}", e.before)));
                }
                out.push(clean(&format!("+{}", e.after)));
            }
        }
        out
    }

    /// Why nothing can be written, when nothing can.
    pub fn why_not(&self) -> Option<String> {
        let Some(repo) = &self.repo else {
            return Some("no checkout given (--gitops-repo PATH): copy the patch into git".into());
        };
        if self.found() {
            return None;
        }
        let keys = match (&self.field, self.kind == HELM_RELEASE) {
            (Field::Replicas(_), true) => "spec.values.replicaCount".to_string(),
            (Field::Image { .. }, true) => {
                "spec.values.image (repository + tag, or one string naming the image)".to_string()
            }
            (Field::Replicas(_), false) => "spec.replicas".to_string(),
            (Field::Image { old, .. }, false) => format!("an image: line naming {old}"),
        };
        let wanted = format!("sets {keys} of {} {}/{}", self.kind, self.namespace, self.name);
        Some(clean(&format!(
            "no manifest in {} {wanted}: nothing was written (the patch is what to add)",
            repo.display()
        )))
    }

    /// What the audit log records: the files and the setting.
    pub fn audited(&self) -> (serde_json::Value, serde_json::Value) {
        let files: Vec<&str> = self.changed().map(|f| f.shown.as_str()).collect();
        let before = serde_json::json!({"repo": self.repo.as_ref().map(|r| r.display().to_string())});
        let after = serde_json::json!({"set": self.setting(), "in": format!("{} {}/{}", self.kind, self.namespace, self.name), "files": files});
        (before, after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::service::Service;

    #[test]
    fn the_workload_manifest_is_found_and_the_diff_names_the_file() {
        let service = Service::example("shop", "api", 2);
        let repo = Path::new("/checkout");
        let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 2\n";
        let files = vec![
            (repo.join("apps/api.yaml"), manifest.to_string()),
            (repo.join("apps/other.yaml"), manifest.replace("name: api", "name: web")),
        ];
        let git = plan_git_edit(&service, Field::Replicas(4), Some(repo), &files);
        assert_eq!(git.files.len(), 1);
        assert_eq!(
            git.diff(),
            ["--- a/apps/api.yaml", "+++ b/apps/api.yaml", "@@ line 6 @@", "-  replicas: 2", "+  replicas: 4"]
        );
        assert_eq!(git.why_not(), None);
        let none = plan_git_edit(&service, Field::Replicas(4), Some(repo), &files[1..]);
        assert!(none.why_not().unwrap().contains("no manifest in /checkout sets spec.replicas of Deployment shop/api"));
        let no_repo = plan_git_edit(&service, Field::Replicas(4), None, &[]);
        assert!(no_repo.why_not().unwrap().contains("no checkout given"));
        assert!(no_repo.patch().contains("replicas: 4"));
    }
}
