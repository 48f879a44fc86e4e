//! Where configuration and state live. The `directories` crate gives each platform's
//! convention; `KUBECTL_COCKPIT_CONFIG` and `KUBECTL_COCKPIT_DATA` override them (tests and
//! unusual setups use these).

use std::path::{Path, PathBuf};

pub const CONFIG_ENV: &str = "KUBECTL_COCKPIT_CONFIG";
pub const DATA_ENV: &str = "KUBECTL_COCKPIT_DATA";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Holds `themes/`, `keymaps/`, `profiles/`, `runbooks/`.
    pub config_dir: PathBuf,
    /// Holds the audit log and runbook run state.
    pub data_dir: PathBuf,
}

impl Paths {
    /// Resolves the directories from the environment; they are not created here.
    pub fn from_env() -> Self {
        let dirs = directories::ProjectDirs::from("dev", "cockpit", "kubectl-cockpit");
        let config_dir = std::env::var_os(CONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs.as_ref().map(|d| d.config_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from(".kubectl-cockpit"));
        let data_dir = std::env::var_os(DATA_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs.as_ref().map(|d| d.data_dir().to_path_buf()))
            .unwrap_or_else(|| config_dir.join("data"));
        Paths { config_dir, data_dir }
    }

    pub fn themes(&self) -> PathBuf {
        self.config_dir.join("themes")
    }
    pub fn keymaps(&self) -> PathBuf {
        self.config_dir.join("keymaps")
    }
    pub fn profiles(&self) -> PathBuf {
        self.config_dir.join("profiles")
    }
    pub fn runbooks(&self) -> PathBuf {
        self.config_dir.join("runbooks")
    }
    pub fn audit_log(&self) -> PathBuf {
        self.data_dir.join("audit.jsonl")
    }
    pub fn runbook_state(&self) -> PathBuf {
        self.data_dir.join("runs")
    }
    /// The profile used for a context when `--profile` is not given.
    pub fn profile_for_context(&self, context: &str) -> PathBuf {
        self.profiles().join(format!("{}.toml", sanitize_file_name(context)))
    }
}

/// Context names can contain `/` and `:` (EKS ARNs); keep them usable as file names.
pub(crate) fn sanitize_file_name(name: &str) -> String {
    name.chars().map(|c| if c == '/' || c == '\\' || c == ':' { '_' } else { c }).collect()
}

/// Files with one of `extensions` directly in `dir`, sorted; a missing dir is empty.
pub fn files_in(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e)))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_names_become_safe_file_names() {
        let p = Paths { config_dir: "/c".into(), data_dir: "/d".into() };
        assert_eq!(p.profile_for_context("arn:aws:eks:eu/prod"), PathBuf::from("/c/profiles/arn_aws_eks_eu_prod.toml"));
    }
}
