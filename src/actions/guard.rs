//! What every plan shows before anything is sent: the lines of its impact preview, and the
//! guards that warn, refuse (overridable with `--force` and the typed service name) or block.

use crate::model::lint::check;
use crate::model::service::{Service, Severity};

/// One line of the impact preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewLine {
    pub label: &'static str,
    pub text: String,
    pub severity: Severity,
}

/// Whether a guard stops the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Stops the change; `--force` (and typing the service name) overrides it.
    Refuse,
    /// Stops the change; nothing overrides it (it could not work).
    Block,
    /// Proceeds, but the operator should know.
    Warn,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
    pub id: &'static str,
    pub verdict: Verdict,
    pub message: String,
    /// What to do instead.
    pub alternative: Option<String>,
}

impl PreviewLine {
    /// A line that is only information.
    pub fn info(label: &'static str, text: String) -> PreviewLine {
        PreviewLine { label, text, severity: Severity::Info }
    }
}

impl Guard {
    /// A guard nothing overrides: the change could not work.
    pub fn block(id: &'static str, message: String, alternative: Option<String>) -> Guard {
        Guard { id, verdict: Verdict::Block, message, alternative }
    }

    /// A guard that stops the change unless the operator overrides it (`--force`).
    pub fn refuse(id: &'static str, message: String, alternative: Option<String>) -> Guard {
        Guard { id, verdict: Verdict::Refuse, message, alternative }
    }

    /// A guard the operator reads and decides on.
    pub fn warn(id: &'static str, message: String, alternative: Option<String>) -> Guard {
        Guard { id, verdict: Verdict::Warn, message, alternative }
    }

    /// Whether this guard stops the change: a `Block` always, a `Refuse` unless forced.
    pub fn stops(&self, forced: bool) -> bool {
        match self.verdict {
            Verdict::Block => true,
            Verdict::Refuse => !forced,
            Verdict::Warn => false,
        }
    }
}

/// What a rollout of the service runs into on a ReadWriteOnce volume (set-image, restart,
/// undo and every template change): a stall when its update surges onto another node (the
/// preflight check `rwo-rolling-update`), otherwise a pause while the old pod lets go.
pub fn rwo_volume(service: &Service) -> Option<Guard> {
    if let Some(stall) = service.rollout_stalls_on_rwo() {
        let fix = check(stall.id).map(|c| c.fix.to_string());
        return Some(Guard::warn(stall.id, stall.message.clone(), fix));
    }
    let volume = service.flags.rwo_volume.as_ref()?;
    Some(Guard::warn(
        "rwo-volume",
        format!("the ReadWriteOnce volume {volume} cannot attach to a new pod on another node while the old one runs"),
        Some("expect a pause in service while the old pod stops".into()),
    ))
}

/// What to do instead of a change the GitOps owner reverts: change `what` in git, or
/// suspend the owner first (the `suspend-gitops` runbook, or the tool's own command).
pub fn gitops_alternative(owner: &crate::model::gitops::ServiceGitOps, what: &str) -> String {
    use crate::model::gitops::OwnerKind;
    let ns = owner.state.as_ref().map(|s| s.namespace.clone()).or_else(|| owner.owner.namespace.clone());
    let in_ns = ns.map_or(String::new(), |ns| format!(" -n {ns}"));
    let tool = match owner.owner.kind {
        OwnerKind::Kustomization | OwnerKind::HelmRelease => {
            format!("flux suspend {} {}{in_ns}", owner.owner.kind.resource(), owner.owner.name)
        }
        OwnerKind::Application => format!("argocd app set {} --sync-policy none", owner.owner.name),
    };
    format!("change {what} in git, or suspend the owner first (runbook suspend-gitops, or {tool})")
}
