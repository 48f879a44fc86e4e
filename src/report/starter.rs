//! `config init`: a starter profile written from what discovery found, so a first run's
//! numbers become declarations an operator can read, correct and keep. Every value says
//! where it came from; what nothing could tell is left as a commented line to fill in.
//! Loaded as a profile, it gives the same budgets discovery did.

use std::fmt::Write as _;

use crate::model::budget::{DatabaseBudget, DatabaseKind, Source};
use crate::model::service::Service;

/// A TOML string, quoted and escaped.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The starter profile for `context`, from the budgets and services as discovered.
pub fn starter_profile(context: &str, budgets: &[DatabaseBudget], services: &[Service], written: &str) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "# Starter profile for context {}, written by `kubectl cockpit config init`", quoted(context));
    let _ = writeln!(out, "# on {written} from what the cluster shows. Each value says where it came from:");
    let _ =
        writeln!(out, "# correct what is wrong, fill in what is commented out, then `kubectl cockpit config check`.");
    let _ = writeln!(out);
    let _ = writeln!(out, "# Set to true for a production context: changes then ask for the service name to be typed.");
    let _ = writeln!(out, "production = false");
    if budgets.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "# No database was found: no workload names a PostgreSQL host in its env.");
        let _ = writeln!(out, "# [[databases]]");
        let _ = writeln!(out, "# name = \"app-db\"");
        let _ = writeln!(out, "# max_connections = 100");
    }
    for b in budgets {
        database(&mut out, b);
    }
    for b in budgets {
        bindings(&mut out, b);
    }
    singletons(&mut out, services);
    out
}

fn database(out: &mut String, b: &DatabaseBudget) {
    let _ = writeln!(out);
    match (&b.kind, &b.origin) {
        (DatabaseKind::Pooler { server, .. }, origin) => {
            let _ = writeln!(
                out,
                "# A PgBouncer ({}), in front of {}: its client limit is read from its settings.",
                origin.as_deref().unwrap_or("found by its image"),
                server.as_deref().unwrap_or("a server not found")
            );
        }
        (DatabaseKind::Server, Some(origin)) => {
            let _ = writeln!(out, "# {origin}");
        }
        (DatabaseKind::Server, None) => {}
    }
    let _ = writeln!(out, "[[databases]]");
    let _ = writeln!(out, "name = {}", quoted(&b.name));
    if let Some(ns) = b.workload.as_ref().map(|k| &k.namespace).or(b.services.first().map(|u| &u.key.namespace)) {
        let _ = writeln!(out, "namespace = {}", quoted(ns));
    }
    if let DatabaseKind::Pooler { .. } = b.kind {
        return;
    }
    if b.limit_known() {
        let _ = writeln!(out, "max_connections = {}   # {}", b.max_connections.value, b.max_connections.source);
    } else {
        let _ =
            writeln!(out, "# max_connections = ?   # unknown: ask the server (SHOW max_connections) and write it here");
    }
    let _ = writeln!(
        out,
        "reserved = {}   # {}",
        b.reserved.value,
        described(&b.reserved.source, "superuser_reserved_connections")
    );
    let _ = writeln!(
        out,
        "headroom = {}   # {}",
        b.headroom.value,
        described(&b.headroom.source, "migrations, consoles, cron jobs")
    );
    let _ = writeln!(out, "warn_percent = {}", b.warn_percent);
    if b.pooler {
        let _ = writeln!(out, "pooler = true   # a PgBouncer was found in front");
    }
    let _ = writeln!(
        out,
        "# url_env = \"APP_DB_URL\"   # an environment variable with a connection string, to measure it live"
    );
}

/// `default (superuser_reserved_connections)`, `profile`.
fn described(source: &Source, what: &str) -> String {
    match source {
        Source::Default => format!("default ({what})"),
        other => other.to_string(),
    }
}

fn bindings(out: &mut String, b: &DatabaseBudget) {
    for u in &b.services {
        let _ = writeln!(out);
        let _ = writeln!(out, "# {}/{} uses {} (found via {})", u.key.namespace, u.key.name, b.name, u.via);
        let _ = writeln!(out, "[[bindings]]");
        let _ = writeln!(out, "database = {}", quoted(&b.name));
        let _ = writeln!(out, "service = {}", quoted(&format!("{}/{}", u.key.namespace, u.key.name)));
        let _ = writeln!(out, "pool = {}   # {}", u.pool.value, u.pool.source);
        let _ = writeln!(out, "overflow = {}   # {}", u.overflow.value, u.overflow.source);
        if u.extra.value > 0 {
            let _ = writeln!(out, "extra_per_pod = {}   # {}", u.extra.value, u.extra.source);
        }
    }
}

/// Services the cockpit judged must not run twice (not those the profile already said).
fn singletons(out: &mut String, services: &[Service]) {
    for s in services {
        let Some(reason) = s.flags.singleton.as_deref().filter(|r| !r.ends_with("(profile)")) else { continue };
        let _ = writeln!(out);
        let _ = writeln!(out, "# {}/{}: {reason}", s.key.namespace, s.key.name);
        let _ = writeln!(out, "[[singletons]]");
        let _ = writeln!(out, "service = {}", quoted(&format!("{}/{}", s.key.namespace, s.key.name)));
        let _ = writeln!(out, "reason = {}", quoted(reason));
    }
}
