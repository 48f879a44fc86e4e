//! `nodes` and `drain-plan`: the nodes with what they carry, and what draining some of
//! them would do, from one cluster-wide look (a node's pods and their budgets belong to any
//! namespace). When the cockpit cannot see all of that, it refuses rather than guess.

use std::io::Write;

use color_eyre::Result;

use super::args::{Format, GlobalArgs};
use super::snapshot::{self, Snapshot};
use crate::exit::{self, Exit};
use crate::model::drain::{self, DrainInputs};
use crate::report::nodes as report;

pub async fn list(global: &GlobalArgs, output: Format) -> Result<Exit> {
    let snap = snapshot::take_cluster_wide(global).await?;
    refuse_when_blind(&snap)?;
    let rows = drain::node_rows(&inputs(&snap));
    let mut out = std::io::stdout().lock();
    match output {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report::nodes_json(&rows))?)?,
        Format::Table => write!(out, "{}", report::nodes_table(&rows))?,
    }
    out.flush()?;
    Ok(Exit::Ok)
}

pub async fn drain_plan(global: &GlobalArgs, nodes: &[String], output: Format) -> Result<Exit> {
    let snap = snapshot::take_cluster_wide(global).await?;
    refuse_when_blind(&snap)?;
    let known: Vec<&str> = snap.objects.nodes.iter().filter_map(|n| n.metadata.name.as_deref()).collect();
    if let Some(missing) = nodes.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(exit::usage(format!("node \"{missing}\" not found (nodes: {})", known.join(", "))));
    }
    let plan = drain::plan(&inputs(&snap), nodes);
    let mut out = std::io::stdout().lock();
    match output {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report::plan_json(&plan))?)?,
        Format::Table => write!(out, "{}", report::plan_table(&plan))?,
    }
    out.flush()?;
    Ok(if plan.drainable() { Exit::Ok } else { Exit::Failed })
}

pub(super) fn inputs(snap: &Snapshot) -> DrainInputs<'_> {
    DrainInputs {
        nodes: &snap.objects.nodes,
        pods: &snap.objects.pods,
        pdbs: &snap.objects.pdbs,
        services: &snap.services,
    }
}

/// Exit 4 when nodes, pods or disruption budgets cannot be read (RBAC, or no answer in
/// time): an unreadable PDB list is not "no PDB", and a drain judged without it would look
/// safe when it is not.
pub(super) fn refuse_when_blind(snap: &Snapshot) -> Result<()> {
    let missing = drain::blind_spots(snap.visibility);
    if missing.is_empty() {
        return Ok(());
    }
    Err(exit::refused(format!("refused: a drain cannot be judged without reading {}", missing.join(", "))))
}
