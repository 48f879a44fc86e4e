//! The audit trail: one JSON line per attempted mutation, appended to the data dir and
//! flushed to disk before the result is shown, so an interrupted session still leaves a
//! record of what was tried.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time: String,
    pub context: String,
    pub user: Option<String>,
    /// `scale`, `rollout restart`, …
    pub action: String,
    /// `namespace/kind/name`.
    pub target: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    /// What the server's dry-run said (`ok` or the error).
    pub dry_run: Option<String>,
    /// `applied`, `dry-run`, `refused: …`, `declined`, `failed: …`.
    pub outcome: String,
}

/// Appends `entry` as one line. One `write` on an `O_APPEND` file keeps concurrent
/// cockpits from interleaving lines; `sync_data` makes it durable before we go on.
pub fn append(path: &Path, entry: &AuditEntry) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

/// Every entry in the log, oldest first; unreadable lines are skipped (a crash can leave
/// a partial last line) and counted.
pub fn read(path: &Path) -> (Vec<AuditEntry>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut bad = 0;
    let entries = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).map_err(|_| bad += 1).ok())
        .collect();
    (entries, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_append_as_lines_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("audit.jsonl");
        let entry = |outcome: &str| AuditEntry {
            time: "2026-11-22T08:00:00Z".into(),
            context: "prod".into(),
            user: None,
            action: "scale".into(),
            target: "shop/deploy/api".into(),
            before: serde_json::json!({"replicas": 3}),
            after: serde_json::json!({"replicas": 5}),
            dry_run: Some("ok".into()),
            outcome: outcome.into(),
        };
        append(&path, &entry("dry-run")).unwrap();
        append(&path, &entry("applied")).unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"trunc").unwrap();
        let (entries, bad) = read(&path);
        assert_eq!(entries.iter().map(|e| e.outcome.as_str()).collect::<Vec<_>>(), ["dry-run", "applied"]);
        assert_eq!(bad, 1);
    }
}
