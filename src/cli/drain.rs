//! `drain NODE`: the guided drain headless. The same steps as every change command: the
//! preview (what `drain-plan` says), the guards, the API server's dry-run, confirmation
//! (the node's name in production), then cordon and evictions with progress, every step in
//! the audit log. A signal stops it between two steps and leaves the node cordoned.

use color_eyre::Result;
use tokio::sync::watch;

use super::args::{DrainArgs, GlobalArgs};
use super::change::{ask_terminal, is_yes};
use super::nodes::{inputs, refuse_when_blind};
use super::snapshot;
use crate::actions::drain::{self, DrainEnd, DrainEvent};
use crate::actions::execute::{ExecContext, dry_run_text};
use crate::actions::guard::Verdict;
use crate::config::paths::Paths;
use crate::exit::{self, Exit};
use crate::model::drain as model;
use crate::report::nodes as report;

pub async fn run(global: &GlobalArgs, args: DrainArgs, paths: &Paths) -> Result<Exit> {
    let snap = snapshot::take_cluster_wide(global).await?;
    refuse_when_blind(&snap)?;
    if !snap.objects.nodes.iter().any(|n| n.metadata.name.as_deref() == Some(args.node.as_str())) {
        return Err(exit::usage(format!("node \"{}\" not found", args.node)));
    }
    let plan = model::plan(&inputs(&snap), std::slice::from_ref(&args.node));
    let drain = &plan.nodes[0];
    let guards = drain::guards(drain, &snap.services);
    print!("{}", report::plan_table(&plan));
    for guard in &guards {
        let tag = if guard.verdict == Verdict::Refuse && args.force { "accepted" } else { "guard" };
        println!("  {tag:<8} {}: {}", guard.id, guard.message);
        if let Some(alternative) = &guard.alternative {
            println!("  {:<8} {alternative}", "instead");
        }
    }
    let exec = ExecContext::new(&snap.target.connection, paths.audit_log());
    let target = format!("node/{}", args.node);
    let record = |dry_run: Option<String>, outcome: String| {
        exec.record_attempt("drain", target.clone(), serde_json::Value::Null, serde_json::Value::Null, dry_run, outcome)
    };
    if global.read_only {
        record(None, "refused: read-only".into())?;
        return Err(exit::refused(format!("--read-only: the drain of {} is not performed", args.node)));
    }
    if let Some(guard) = drain::stopped_by(&guards, args.force) {
        record(None, format!("refused: {}", guard.id))?;
        let hint = if guard.verdict == Verdict::Refuse { " (--force accepts it)" } else { "" };
        return Err(exit::refused(format!("{}{hint}", guard.message)));
    }
    let dry = drain::dry_run(&exec, drain).await;
    let dry_text = dry_run_text(&dry);
    println!("server dry-run: {dry_text}");
    if let Err(e) = dry {
        record(Some(dry_text), format!("refused: {e}"))?;
        return Err(exit::refused(format!("the API server refused the drain: {e}")));
    }
    if args.dry_run {
        record(Some(dry_text), "dry-run".into())?;
        return Ok(Exit::Ok);
    }
    if !args.yes && !confirmed(&format!("drain {}", args.node), &args.node, snap.production).await? {
        record(Some(dry_text), "declined".into())?;
        return Err(exit::declined("not confirmed; nothing was changed (pass --yes to skip the question)"));
    }
    let (stop, abort) = watch::channel(false);
    let mut terminations = crate::exit::Terminations::listen()?;
    let signal = tokio::spawn(async move {
        let signal = terminations.next().await;
        let _ = stop.send(true);
        signal
    });
    let end = drain::execute(&exec, drain, args.timeout, &abort, print_progress).await;
    let signalled = if signal.is_finished() {
        signal.await.ok()
    } else {
        signal.abort();
        None
    };
    let DrainEnd::Stopped(why) = end else {
        println!("drained {}", args.node);
        return Ok(Exit::Ok);
    };
    let node = &args.node;
    eprintln!("stopped: {why}; {node} stays cordoned (kubectl uncordon {node} to take pods again)");
    // After a signal, 128 + its number, as shells expect.
    Ok(signalled.map_or(Exit::Failed, Exit::Signalled))
}

fn print_progress(event: DrainEvent) {
    println!("{}", event.describe());
}

/// `y`, or in production the node's name typed, to `what` (`drain node-a`). Without a
/// terminal: not confirmed.
pub(super) async fn confirmed(what: &str, node: &str, production: bool) -> Result<bool> {
    let question = if production {
        format!("This context is production. Type the node name ({node}) to {what}: ")
    } else {
        format!("{what}? [y/N] ")
    };
    let Some(answer) = ask_terminal(question).await? else { return Ok(false) };
    Ok(if production { answer == node } else { is_yes(&answer) })
}
