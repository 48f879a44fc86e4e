//! `nodes` and `drain-plan` for people (a table, then per node what a drain does to each
//! pod) and for scripts (`-o json`). Every verdict comes from `model::drain`.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::model::drain::{DrainPlan, Hold, NodeDrain, NodeRow, PodAction, PodDrain, SkipReason};
use crate::model::resources::{Resources, format_cpu, format_memory};

pub fn nodes_table(rows: &[NodeRow]) -> String {
    let mut out = String::new();
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:<26}  {:<17}  {:<19}  {:>4}  DRAIN",
        "NODE", "STATUS", "CPU REQ/ALLOC", "MEMORY REQ/ALLOC", "PODS"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:<26}  {:<17}  {:<19}  {:>4}  {}",
            row.name,
            status(row.ready, row.cordoned),
            usage(row.requested.cpu_m, row.allocatable.cpu_m, format_cpu),
            usage(row.requested.memory, row.allocatable.memory, format_memory),
            row.pods,
            drain_summary(&row.drain)
        );
    }
    out
}

pub fn status(ready: bool, cordoned: bool) -> String {
    let ready = if ready { "Ready" } else { "NotReady" };
    if cordoned { format!("{ready},SchedulingDisabled") } else { ready.to_string() }
}

pub fn usage(used: i64, total: i64, format: fn(i64) -> String) -> String {
    let percent = if total > 0 { used.saturating_mul(100) / total } else { 0 };
    format!("{}/{} {percent}%", format(used), format(total))
}

/// One line: drainable (with the estimate), or what blocks it, and what would be lost.
pub fn drain_summary(drain: &NodeDrain) -> String {
    let blocked: Vec<String> =
        drain.blocked().map(budget_name).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut text = if !blocked.is_empty() {
        format!("blocked by {}", blocked.join(", "))
    } else if !drain.unplaced.is_empty() {
        format!("{} pod(s) fit nowhere else", drain.unplaced.len())
    } else {
        match drain.estimate_s {
            Some(s) => format!("drainable, ~{}", seconds(s)),
            None => "drainable".into(),
        }
    };
    let lost = drain.pods.iter().filter(|p| p.loses_something()).count();
    if lost > 0 {
        let _ = write!(text, "; {lost} pod(s) lose data or are not re-created");
    }
    text
}

fn budget_name(pod: &PodDrain) -> String {
    match &pod.hold {
        Hold::Blocked { pdb, .. } | Hold::Allowed { pdb, .. } => format!("pdb {}/{pdb}", pod.namespace),
        Hold::Ambiguous { pdbs } => format!("{}/{{{}}} (two budgets)", pod.namespace, pdbs.join(",")),
        Hold::Free => String::new(),
    }
}

fn seconds(s: u64) -> String {
    if s >= 120 { format!("{}m{:02}s", s / 60, s % 60) } else { format!("{s}s") }
}

pub fn plan_table(plan: &DrainPlan) -> String {
    let mut out = String::new();
    let sequence = plan.nodes.len() > 1;
    for (step, drain) in plan.nodes.iter().enumerate() {
        let verdict = if drain.drainable() { "can complete now" } else { "BLOCKED" };
        let order = if sequence { format!("{}. ", step + 1) } else { String::new() };
        let cordon = if drain.cordoned { " (already cordoned)" } else { "" };
        let _ = writeln!(out, "{order}drain {}{cordon}: {verdict}", drain.node);
        for pod in &drain.pods {
            let _ = writeln!(out, "  {:<8} {}/{}  {}  {}", label(pod), pod.namespace, pod.name, pod.owner, detail(pod));
        }
        if drain.pods.is_empty() {
            let _ = writeln!(out, "  no pods");
        }
        match drain.unplaced.as_slice() {
            [] => {
                let _ = writeln!(out, "  replacements: fit on the nodes that stay");
            }
            unplaced => {
                let _ = writeln!(out, "  replacements that fit on no other node: {}", unplaced.join(", "));
            }
        }
        if let Some(s) = drain.estimate_s {
            let _ =
                writeln!(out, "  estimate: ~{} until every replacement is ready (one service at a time)", seconds(s));
        }
    }
    if sequence {
        let _ = writeln!(out, "replacements are placed on nodes outside this plan; drained nodes stay cordoned");
    }
    out
}

fn label(pod: &PodDrain) -> &'static str {
    match (pod.action, pod.hold.blocks()) {
        (PodAction::Skip, _) => "skip",
        (_, true) => "BLOCKED",
        (PodAction::Delete, false) => "LOST",
        (PodAction::Evict, false) => "evict",
    }
}

fn detail(pod: &PodDrain) -> String {
    let mut parts = Vec::new();
    if let Some(reason) = pod.skip {
        parts.push(
            match reason {
                SkipReason::DaemonSet => "DaemonSet pod",
                SkipReason::Mirror => "mirror (static) pod",
                SkipReason::Finished => "finished",
            }
            .to_string(),
        );
    }
    match &pod.hold {
        Hold::Blocked { pdb, why, never, .. } => {
            let never = if *never { " (never at this scale: scale up or relax the budget)" } else { "" };
            parts.push(format!("pdb {pdb}: {why}{never}"));
        }
        Hold::Ambiguous { pdbs } => {
            parts.push(format!("selected by {} budgets ({}): the eviction API refuses it", pdbs.len(), pdbs.join(", ")))
        }
        Hold::Allowed { pdb, allowed } => parts.push(format!("pdb {pdb} allows {allowed} now")),
        Hold::Free => {}
    }
    if pod.action == PodAction::Delete {
        parts.push("no controller re-creates it".into());
    }
    if !pod.empty_dirs.is_empty() && pod.action != PodAction::Skip {
        parts.push(format!("emptyDir data lost: {}", pod.empty_dirs.join(", ")));
    }
    parts.join("; ")
}

pub fn nodes_json(rows: &[NodeRow]) -> Value {
    let nodes: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "ready": r.ready,
                "cordoned": r.cordoned,
                "allocatable": resources(r.allocatable),
                "requested": resources(r.requested),
                "pods": r.pods,
                "by_owner": r.by_owner.iter().map(|(owner, n)| json!({"owner": owner, "pods": n})).collect::<Vec<_>>(),
                "drain": node_drain_json(&r.drain),
            })
        })
        .collect();
    json!({ "nodes": nodes })
}

fn resources(r: Resources) -> Value {
    json!({"cpu_m": r.cpu_m, "memory_bytes": r.memory})
}

pub fn plan_json(plan: &DrainPlan) -> Value {
    json!({
        "drainable": plan.drainable(),
        "nodes": plan.nodes.iter().map(node_drain_json).collect::<Vec<_>>(),
    })
}

fn node_drain_json(drain: &NodeDrain) -> Value {
    let pods =
        |keep: fn(&PodDrain) -> bool| -> Vec<Value> { drain.pods.iter().filter(|p| keep(p)).map(pod_json).collect() };
    json!({
        "node": drain.node,
        "cordoned": drain.cordoned,
        "drainable": drain.drainable(),
        "evict": pods(|p| p.action != PodAction::Skip && !p.hold.blocks()),
        "blocked": pods(|p| p.action != PodAction::Skip && p.hold.blocks()),
        "skip": pods(|p| p.action == PodAction::Skip),
        "lose": pods(PodDrain::loses_something),
        "unplaced": drain.unplaced,
        "estimate_s": drain.estimate_s,
    })
}

fn pod_json(pod: &PodDrain) -> Value {
    json!({
        "namespace": pod.namespace,
        "name": pod.name,
        "owner": pod.owner,
        "action": pod.action,
        "skip": pod.skip,
        "empty_dirs": pod.empty_dirs,
        "budget": pod.hold,
        "requests": resources(pod.requests),
    })
}
