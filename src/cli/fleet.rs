//! Several clusters at once (`--context a,b,c`, `--all-contexts`): one synced look at each,
//! taken in parallel, so a slow or unreachable cluster costs its own timeout and nothing
//! of the others'. `status` over a fleet and `fleet diff` are built on it.

use std::io::Write;

use color_eyre::Result;

use super::args::{self, GlobalArgs};
use super::snapshot::{self, Snapshot};
use crate::exit::{self, Exit};
use crate::model::drift;
use crate::model::service::Service;
use crate::model::service_ref::ServiceRef;

/// One cluster of the fleet: its snapshot, or why there is none.
pub struct ClusterSnapshot {
    pub context: String,
    pub taken: Result<Snapshot, String>,
}

/// The contexts the flags select, in the order given (`--all-contexts`: the kubeconfig's
/// order). A name the kubeconfig does not have is a usage error, before anything connects.
pub fn contexts(global: &GlobalArgs) -> Result<Vec<String>> {
    if global.demo {
        return Err(exit::usage("--demo is one simulated cluster; several contexts need a kubeconfig"));
    }
    let known = crate::cluster::connect::context_names(&super::connect_options(&GlobalArgs {
        context: None,
        ..global.clone()
    }));
    if global.all_contexts {
        if known.is_empty() {
            return Err(exit::usage("--all-contexts: the kubeconfig has no contexts"));
        }
        return Ok(known);
    }
    let named = global.named_contexts();
    if let Some(unknown) = named.iter().find(|c| !known.contains(c)) {
        return Err(exit::usage(format!(
            "context \"{unknown}\" not found in the kubeconfig (contexts: {})",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )));
    }
    let mut unique = Vec::new();
    for c in named {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    Ok(unique)
}

/// A snapshot of every selected cluster, taken in parallel. A cluster that cannot be
/// talked to is reported as such and the others are complete; a profile that does not
/// load still stops the command (exit 2), as it does for one cluster.
pub async fn take_all(global: &GlobalArgs) -> Result<Vec<ClusterSnapshot>> {
    let contexts = contexts(global)?;
    let looks = contexts.iter().map(|context| {
        let one = global.for_context(context);
        async move { (context.clone(), snapshot::take_saying(&one, None, &format!("cluster {context}: ")).await) }
    });
    let mut clusters = Vec::with_capacity(contexts.len());
    for (context, taken) in futures::future::join_all(looks).await {
        let taken = match taken {
            Ok(mut snap) => {
                for s in &mut snap.services {
                    s.key.cluster = Some(context.clone());
                }
                Ok(snap)
            }
            Err(e) => match exit::as_user_error(&e) {
                Some(user) if user.exit == Exit::Cluster => Err(user.message.clone()),
                _ => return Err(e),
            },
        };
        clusters.push(ClusterSnapshot { context, taken });
    }
    Ok(clusters)
}

/// Every unreachable cluster, one line each on stderr; exit 3 when there was one.
fn say_unreachable(clusters: &[ClusterSnapshot]) -> Exit {
    let mut exit = Exit::Ok;
    for c in clusters {
        if let Err(why) = &c.taken {
            eprintln!("kubectl-cockpit: cluster {}: {why}", c.context);
            exit = Exit::Cluster;
        }
    }
    exit
}

/// `status` over a fleet: every cluster's services in one table (a CLUSTER column) or
/// one JSON document (`cluster` per service, `clusters` with each one's state). Exit 3
/// when a cluster could not be talked to, after printing the others.
pub async fn status(global: &GlobalArgs, output: args::StatusFormat) -> Result<Exit> {
    use crate::report::status::{ClusterState, FleetReport, fleet_json, fleet_table};

    let clusters = take_all(global).await?;
    let states: Vec<ClusterState> = clusters
        .iter()
        .map(|c| ClusterState {
            context: c.context.clone(),
            server_url: c.taken.as_ref().ok().map(|s| s.target.connection.server_url.clone()),
            error: c.taken.as_ref().err().cloned(),
            no_access: c.taken.as_ref().ok().and_then(hidden_workloads),
        })
        .collect();
    let reports: Vec<crate::report::status::StatusReport<'_>> =
        clusters.iter().filter_map(|c| c.taken.as_ref().ok().map(|snap| report_of(&c.context, snap))).collect();
    let fleet = FleetReport { clusters: &states, reports: &reports };
    let mut out = std::io::stdout().lock();
    match output {
        args::StatusFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&fleet_json(&fleet))?)?,
        args::StatusFormat::Table => write!(out, "{}", fleet_table(&fleet, false))?,
        args::StatusFormat::Wide => write!(out, "{}", fleet_table(&fleet, true))?,
    }
    out.flush()?;
    Ok(say_unreachable(&clusters))
}

/// The permission that hides every workload of a cluster, when neither Deployments nor
/// StatefulSets may be listed.
fn hidden_workloads(snap: &Snapshot) -> Option<String> {
    use crate::cluster::watch::ResourceKind;
    let denied = |kind| snap.forbidden.iter().find(|(k, _)| *k == kind).map(|(_, p)| p.clone());
    denied(ResourceKind::Deployments).zip(denied(ResourceKind::StatefulSets)).map(|(d, _)| d)
}

fn report_of<'a>(context: &'a str, snap: &'a Snapshot) -> crate::report::status::StatusReport<'a> {
    crate::report::status::StatusReport {
        context,
        services: &snap.services,
        namespace_findings: &snap.namespace_findings,
        visibility: snap.visibility,
        no_access: &snap.no_access,
        now: snap.now,
    }
}

/// `fleet diff SERVICE`: what differs in one service between the selected clusters.
/// Exit 0 when every cluster runs the same, 1 when something differs, 3 when a cluster
/// could not be talked to (nothing can be said to be the same then); 2 for one context.
pub async fn diff(global: &GlobalArgs, service: &str, output: args::Format) -> Result<Exit> {
    if !global.is_fleet() {
        return Err(exit::usage(
            "fleet diff compares clusters: pass several contexts (--context a,b) or --all-contexts",
        ));
    }
    let wanted = ServiceRef::parse(service).map_err(exit::usage)?;
    let clusters = take_all(global).await?;
    let reachable: Vec<&ClusterSnapshot> = clusters.iter().filter(|c| c.taken.is_ok()).collect();
    let mut copies: Vec<Option<&Service>> = Vec::with_capacity(reachable.len());
    for c in &reachable {
        let Ok(snap) = &c.taken else { continue };
        let namespace = &snap.target.connection.namespace;
        let in_namespace = wanted.namespace.as_deref().unwrap_or(namespace);
        let runs_here = snap.services.iter().any(|s| {
            s.key.name == wanted.name && s.key.namespace == in_namespace && wanted.kind.is_none_or(|k| s.key.kind == k)
        });
        copies.push(if runs_here {
            let found = wanted.resolve(&snap.services, namespace);
            Some(found.map_err(|why| exit::usage(format!("context {}: {why}", c.context)))?)
        } else {
            None
        });
    }
    if copies.iter().all(Option::is_none) && !reachable.is_empty() {
        return Err(exit::usage(format!("{service}: in none of the selected clusters")));
    }
    let names: Vec<&str> = reachable.iter().map(|c| c.context.as_str()).collect();
    let differences = drift::compare(&copies);
    let named = copies.iter().flatten().next().map(|s| format!("{}/{}", s.key.namespace, s.key.name));
    let named = named.unwrap_or_else(|| service.to_string());
    let mut out = std::io::stdout().lock();
    match output {
        args::Format::Json => {
            let value = serde_json::json!({
                "service": named,
                "clusters": names,
                "unreachable": clusters.iter().filter(|c| c.taken.is_err()).map(|c| &c.context).collect::<Vec<_>>(),
                "same": differences.is_empty(),
                "differences": differences,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        args::Format::Table => write!(out, "{}", crate::report::drift::table(&named, &names, &differences))?,
    }
    out.flush()?;
    match say_unreachable(&clusters) {
        Exit::Ok if differences.is_empty() => Ok(Exit::Ok),
        Exit::Ok => Ok(Exit::Failed),
        unreachable => Ok(unreachable),
    }
}

/// The cockpit's session over a fleet: every selected cluster connected in parallel, the
/// unreachable ones tried again in the background. Exit 3 only when none answers.
pub async fn start_session(
    global: &GlobalArgs,
    paths: &crate::config::paths::Paths,
) -> Result<(crate::cluster::session::SessionHandle, crate::cluster::connect::ConnectOptions)> {
    use crate::cluster::fleet::Start;
    let contexts = contexts(global)?;
    let options = super::connect_options(&GlobalArgs { context: None, ..global.clone() });
    let attempts = contexts.iter().map(|context| {
        let opts = crate::cluster::connect::ConnectOptions { context: Some(context.clone()), ..options.clone() };
        async move { crate::cluster::connect::connect(&opts).await }
    });
    let connected = futures::future::join_all(attempts).await;
    if connected.iter().all(Result::is_err) {
        let why: Vec<String> = connected.iter().filter_map(|c| c.as_ref().err().map(ToString::to_string)).collect();
        return Err(exit::cluster(why.join("; ")));
    }
    let starts = contexts
        .into_iter()
        .zip(connected)
        .map(|(context, c)| Start { context, connected: c.map_err(|e| e.to_string()) })
        .collect();
    let session = crate::cluster::fleet::start(starts, options.clone(), super::profiles(global, paths));
    Ok((session, options))
}

/// `lint` over a fleet: each cluster's findings (its own profile's overrides), under its
/// name in the table, with `cluster` on every finding in JSON. Exit 1 when any cluster
/// has an error-level finding, 3 when a cluster could not be talked to.
pub async fn lint(global: &GlobalArgs, output: args::Format) -> Result<Exit> {
    use crate::report::lint::{collect, has_errors, json, table};

    let clusters = take_all(global).await?;
    let mut findings = Vec::new();
    let mut summary = serde_json::json!({"error": 0, "warning": 0, "info": 0});
    let mut text = String::new();
    let mut errors = false;
    for c in &clusters {
        let Ok(snap) = &c.taken else { continue };
        let found = collect(&snap.services, &snap.namespace_findings);
        errors |= has_errors(&found);
        let one = json(&found);
        for f in one["findings"].as_array().into_iter().flatten() {
            let mut f = f.clone();
            f["cluster"] = serde_json::json!(c.context);
            findings.push(f);
        }
        for level in ["error", "warning", "info"] {
            let sum = summary[level].as_u64().unwrap_or(0) + one["summary"][level].as_u64().unwrap_or(0);
            summary[level] = serde_json::json!(sum);
        }
        text.push_str(&format!("cluster {}:\n{}\n", c.context, table(&found)));
    }
    let mut out = std::io::stdout().lock();
    match output {
        args::Format::Json => {
            let value = serde_json::json!({"findings": findings, "summary": summary});
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        args::Format::Table => write!(out, "{text}")?,
    }
    out.flush()?;
    match say_unreachable(&clusters) {
        Exit::Ok if errors => Ok(Exit::Failed),
        other => Ok(other),
    }
}

/// `budget` over a fleet: each cluster's databases (its own profile's), measured where a
/// connection string is configured, under its name in the table, with `cluster` on every
/// database in JSON. Exit 1 when a database of any cluster is over, 3 when a cluster could
/// not be talked to.
pub async fn budget(global: &GlobalArgs, output: args::Format, at_hpa_max: bool) -> Result<Exit> {
    use crate::model::budget::BudgetState;
    use crate::report::budget::{json, table, worst};

    let mut clusters = take_all(global).await?;
    let mut databases = Vec::new();
    let mut notes = Vec::new();
    let mut text = String::new();
    let mut over = false;
    for c in &mut clusters {
        let context = c.context.clone();
        let Ok(snap) = &mut c.taken else { continue };
        crate::cluster::measure::measure_all(&mut snap.budgets, &snap.services, None).await;
        over |= worst(&snap.budgets, at_hpa_max) == BudgetState::Over;
        let one = json(&snap.budgets, &snap.discovery_notes);
        notes.extend(snap.discovery_notes.iter().map(|n| format!("{context}: {n}")));
        for d in one["databases"].as_array().into_iter().flatten() {
            let mut d = d.clone();
            d["cluster"] = serde_json::json!(context);
            databases.push(d);
        }
        text.push_str(&format!("cluster {context}:\n{}\n", table(&snap.budgets, at_hpa_max, &snap.discovery_notes)));
    }
    let mut out = std::io::stdout().lock();
    match output {
        args::Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"databases": databases, "notes": notes}))?
        )?,
        args::Format::Table => write!(out, "{text}")?,
    }
    out.flush()?;
    match say_unreachable(&clusters) {
        Exit::Ok if over => Ok(Exit::Failed),
        other => Ok(other),
    }
}
