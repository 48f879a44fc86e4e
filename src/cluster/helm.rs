//! Running `helm` for a Helm release's rollback: finding it on PATH (the cockpit never
//! installs or bundles it) and running it with the cluster and identity the cockpit uses.
//! Helm reads the release Secrets itself; the cockpit only ever saw their metadata.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a `helm rollback` may take before the cockpit stops waiting for it (helm's own
/// default wait is 5 minutes; without `--wait` it returns once the manifests are applied).
const HELM_TIMEOUT: Duration = Duration::from_secs(120);

/// The `helm` executable on PATH, if there is one.
pub fn locate() -> Option<PathBuf> {
    on_path("helm")
}

/// Where `program` is on PATH, if it is there and executable.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How helm reaches the cluster the cockpit talks to, as the same user: the cockpit's own
/// `--kubeconfig`, `--as` and `--as-group` (the context is added per plan, since the
/// operator can switch it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelmSetup {
    /// `None`: helm is not on PATH.
    pub program: Option<PathBuf>,
    pub flags: Vec<String>,
}

impl HelmSetup {
    pub fn new(
        program: Option<PathBuf>,
        kubeconfig: Option<&Path>,
        as_user: Option<&str>,
        as_groups: &[String],
    ) -> Self {
        let mut flags = Vec::new();
        if let Some(path) = kubeconfig {
            flags.extend(["--kubeconfig".to_string(), path.display().to_string()]);
        }
        if let Some(user) = as_user {
            flags.extend(["--kube-as-user".to_string(), user.to_string()]);
        }
        for group in as_groups {
            flags.extend(["--kube-as-group".to_string(), group.clone()]);
        }
        HelmSetup { program, flags }
    }
}

/// Runs `program args` and returns its first line of output, or why it failed (helm's
/// own first error line).
pub async fn run(program: &Path, args: &[String]) -> Result<String, String> {
    let mut command = tokio::process::Command::new(program);
    command.args(args).stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = match tokio::time::timeout(HELM_TIMEOUT, command.output()).await {
        Err(_) => return Err(format!("helm did not answer within {}s", HELM_TIMEOUT.as_secs())),
        Ok(Err(e)) => return Err(format!("could not run {}: {e}", program.display())),
        Ok(Ok(output)) => output,
    };
    let first_line = |bytes: &[u8]| {
        crate::model::sanitize::clean(
            String::from_utf8_lossy(bytes).lines().find(|l| !l.trim().is_empty()).unwrap_or(""),
        )
    };
    if output.status.success() {
        Ok(first_line(&output.stdout))
    } else {
        let why = first_line(&output.stderr);
        Err(if why.is_empty() { format!("helm exited with {}", output.status) } else { why })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_gets_the_cockpits_kubeconfig_and_identity() {
        let setup = HelmSetup::new(None, Some(Path::new("/k/config")), Some("alice"), &["ops".into()]);
        assert_eq!(setup.flags, ["--kubeconfig", "/k/config", "--kube-as-user", "alice", "--kube-as-group", "ops"]);
        assert!(HelmSetup::new(None, None, None, &[]).flags.is_empty());
    }
}
