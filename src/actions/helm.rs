//! A Helm release's rollback as a plan: `helm rollback <release> <N> -n <ns>`, previewed,
//! dry-run (`helm rollback --dry-run`), confirmed and run through the same path as every
//! change — but only when helm is on PATH. Without it the plan is blocked and the command is
//! there to copy and run where helm is installed.

use std::path::PathBuf;

use super::guard::{Guard, PreviewLine, Verdict};
use super::plan::ActionPlan;
use crate::cluster::helm::HelmSetup;
use crate::model::service::Service;

/// What a Helm rollback plan runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmRollback {
    pub release: String,
    pub namespace: String,
    /// The deployed revision, when the history is known.
    pub from: Option<i64>,
    pub to: i64,
    /// What runs: helm, and its arguments with the cockpit's context and identity.
    pub program: Option<PathBuf>,
    pub args: Vec<String>,
}

impl HelmRollback {
    pub fn describe(&self) -> String {
        format!("helm rollback {} to revision {} (ns {})", self.release, self.to, self.namespace)
    }

    /// The arguments for a run, or for helm's own simulation of it.
    pub fn args_for(&self, dry_run: bool) -> Vec<String> {
        let mut args = self.args.clone();
        if dry_run {
            args.push("--dry-run".into());
        }
        args
    }
}

/// The rollback of `service`'s Helm release to `revision`, run against `context`.
pub fn plan_helm_rollback(service: &Service, revision: i64, helm: &HelmSetup, context: &str) -> Option<ActionPlan> {
    let release = service.helm.as_ref()?;
    let command = release.rollback_command(revision);
    let mut args: Vec<String> =
        ["rollback", &release.name, &revision.to_string(), "-n", &release.namespace, "--kube-context", context]
            .map(String::from)
            .to_vec();
    args.extend(helm.flags.iter().cloned());
    let deployed = release.deployed().map(|r| r.revision);
    let rollback = HelmRollback {
        release: release.name.clone(),
        namespace: release.namespace.clone(),
        from: deployed,
        to: revision,
        program: helm.program.clone(),
        args,
    };
    let no_helm = rollback.program.is_none();
    // A Helm release has no resourceVersion to send: helm checks its own history.
    let mut plan = ActionPlan { resource_version: None, ..ActionPlan::new(service, rollback.into(), command.clone()) };
    let from = deployed.map_or("the deployed revision".to_string(), |n| format!("revision {n}"));
    plan.preview.push(PreviewLine::info(
        "release",
        format!("{} (ns {}): {from} → {revision}, as a new revision", release.name, release.namespace),
    ));
    match release.history.as_ref().and_then(|h| h.iter().find(|r| r.revision == revision)) {
        Some(target) => {
            plan.preview.push(PreviewLine::info("target", format!("revision {revision} is {}", target.status)))
        }
        None if release.history.is_some() => plan.guards.push(Guard::block(
            "no-such-revision",
            format!("revision {revision} is not in the release history"),
            None,
        )),
        None => plan
            .preview
            .push(PreviewLine::info("target", "the release history could not be read; helm checks it".into())),
    }
    if deployed == Some(revision) {
        plan.guards.push(Guard::block("already-deployed", format!("revision {revision} is the deployed one"), None));
    }
    plan.preview.push(PreviewLine::info(
        "chart",
        format!(
            "revision {revision}'s chart and values are in its release Secret (never read here): \
             helm get values {} --revision {revision} -n {}",
            release.name, release.namespace
        ),
    ));
    if no_helm {
        plan.guards.push(Guard::block(
            "helm-not-on-path",
            "helm is not on PATH: the cockpit cannot run the rollback".into(),
            Some(format!("copy the command (Ctrl-y) and run it where helm is installed: {command}")),
        ));
    }
    if let Some(tool) = &service.flags.gitops {
        plan.guards.push(Guard {
            id: "gitops-managed",
            verdict: Verdict::Warn,
            message: format!("{} is managed by {tool}: the next reconcile may undo the rollback", service.key.name),
            alternative: Some("suspend the HelmRelease first (flux suspend helmrelease <name>)".into()),
        });
    }
    Some(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::helm::{HelmRelease, HelmRevision};

    fn service() -> Service {
        let mut s = Service::example("docs", "docs-site", 2);
        let revision =
            |revision, status: &str| HelmRevision { revision, status: status.into(), created: None, modified: None };
        s.helm = Some(HelmRelease {
            name: "docs".into(),
            namespace: "docs".into(),
            chart: Some("docs-site-1.4.2".into()),
            app_version: Some("2.3.0".into()),
            history: Some(vec![revision(4, "deployed"), revision(3, "failed"), revision(2, "superseded")]),
        });
        s
    }

    fn helm() -> HelmSetup {
        HelmSetup { program: Some("/usr/local/bin/helm".into()), flags: vec!["--kubeconfig".into(), "/k".into()] }
    }

    #[test]
    fn a_rollback_runs_helm_against_the_cockpits_context_and_previews_the_revisions() {
        let plan = plan_helm_rollback(&service(), 2, &helm(), "prod").unwrap();
        assert!(plan.stopped_by().is_none(), "{:?}", plan.guards);
        assert_eq!(plan.kubectl, "helm rollback docs 2 -n docs");
        let rollback = plan.helm_rollback().unwrap();
        assert_eq!(
            rollback.args_for(true),
            ["rollback", "docs", "2", "-n", "docs", "--kube-context", "prod", "--kubeconfig", "/k", "--dry-run"]
        );
        assert_eq!(rollback.from, Some(4));
        assert!(plan.preview.iter().any(|l| l.text == "docs (ns docs): revision 4 → 2, as a new revision"));
        assert!(plan.preview.iter().any(|l| l.text == "revision 2 is superseded"));
    }

    #[test]
    fn without_helm_the_plan_is_blocked_and_offers_the_command() {
        let plan = plan_helm_rollback(&service(), 2, &HelmSetup::default(), "prod").unwrap();
        let guard = plan.stopped_by().unwrap();
        assert_eq!(guard.id, "helm-not-on-path");
        assert!(guard.message.contains("helm is not on PATH"));
        assert!(guard.alternative.as_ref().unwrap().contains("helm rollback docs 2 -n docs"));
        let current = plan_helm_rollback(&service(), 4, &helm(), "prod").unwrap();
        assert_eq!(current.stopped_by().map(|g| g.id), Some("already-deployed"));
        let unknown = plan_helm_rollback(&service(), 9, &helm(), "prod").unwrap();
        assert_eq!(unknown.stopped_by().map(|g| g.id), Some("no-such-revision"));
        assert!(plan_helm_rollback(&Service::example("a", "b", 1), 1, &helm(), "prod").is_none(), "not a Helm release");
    }
}
