//! `budget`: the connection budget per database, as a table for people and JSON for
//! scripts (field names fixed by CLI.md). Every number comes from
//! [`crate::model::budget::DatabaseBudget`]; nothing is recomputed here.

use serde_json::{Value, json};

use crate::model::budget::{BudgetState, DatabaseBudget, DatabaseKind, Measured, ServiceUse, format_percent};

/// The worst state among `budgets` (at HPA max when asked): what the exit code follows.
pub fn worst(budgets: &[DatabaseBudget], at_hpa_max: bool) -> BudgetState {
    budgets.iter().map(|b| if at_hpa_max { b.state_at_hpa_max() } else { b.state() }).max().unwrap_or(BudgetState::Ok)
}

/// One block per database: the totals line, a line per service, where the limits came
/// from, the formula, advice when past the threshold, and the measurement.
pub fn table(budgets: &[DatabaseBudget], at_hpa_max: bool, notes: &[String]) -> String {
    let mut out = String::new();
    if budgets.is_empty() {
        out.push_str(
            "no database found: no workload names a PostgreSQL host in its env (DATABASE_URL, PGHOST, *_DB_HOST…); \
             declare databases in a profile (--profile, profiles/<context>.toml) or annotate pod templates with cockpit.dev/db\n",
        );
    }
    for b in budgets {
        let state = if at_hpa_max { b.state_at_hpa_max() } else { b.state() };
        out.push_str(&format!("{}  {}  [{}]\n", title(b), totals(b), state.as_str()));
        if let Some(origin) = &b.origin {
            out.push_str(&format!("  found: {origin}\n"));
        }
        for u in &b.services {
            out.push_str(&format!("  {}   {}   via {}{}\n", u.share(), u.pools(), u.via, carried(u)));
        }
        out.push_str(&format!("  {}\n", b.limits()));
        out.push_str(&format!("  {}\n", b.formula(at_hpa_max)));
        if let Some(advice) = b.advice(state) {
            out.push_str(&format!("  {}: {advice}\n", state.as_str()));
        }
        if let Some(line) = measured_line(b) {
            out.push_str(&format!("  {line}\n"));
        }
        for line in measured_details(b) {
            out.push_str(&format!("  {line}\n"));
        }
        for note in &b.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
    }
    for note in notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// `pg`, or `pgbouncer (pooler → pg)`: a pooler's budget is its clients' against its limit.
pub fn title(b: &DatabaseBudget) -> String {
    match &b.kind {
        DatabaseKind::Server => b.name.clone(),
        DatabaseKind::Pooler { server, .. } => {
            format!("{} (pooler → {})", b.name, server.as_deref().unwrap_or("server not found"))
        }
    }
}

/// `now 75 (77 %)  at HPA max 90 (93 %)  of 97 usable`, or the demand alone when the limit
/// is unknown: `now 90  at HPA max 240  limit unknown`.
pub fn totals(b: &DatabaseBudget) -> String {
    if !b.limit_known() {
        return format!("now {}  at HPA max {}  limit unknown", b.required(), b.required_at_hpa_max());
    }
    let of = match b.kind {
        DatabaseKind::Server => format!("of {} usable", b.usable()),
        DatabaseKind::Pooler { .. } => format!("of {} client connections", b.usable()),
    };
    format!(
        "now {} ({})  at HPA max {} ({})  {of}",
        b.required(),
        format_percent(b.percent()),
        b.required_at_hpa_max(),
        format_percent(b.percent_at_hpa_max()),
    )
}

/// ` (pooler for shop/api, shop/worker)` on a pooler's line of its server's budget.
pub fn carried(u: &ServiceUse) -> String {
    if u.pooler_for.is_empty() {
        return String::new();
    }
    let names: Vec<String> = u.pooler_for.iter().map(|k| format!("{}/{}", k.namespace, k.name)).collect();
    format!(" (pooler for {})", names.join(", "))
}

/// The measurement in words (`None` when no connection string is configured).
pub fn measured_line(b: &DatabaseBudget) -> Option<String> {
    match &b.measured {
        Measured::NotConfigured => None,
        Measured::Unavailable(cause) => Some(format!("measurement unavailable: {cause}")),
        Measured::Connections { max_connections, reserved, connections, by_service, .. } => {
            let parts: Vec<String> = by_service.iter().map(|(s, n)| format!("{s} {n}")).collect();
            Some(format!(
                "measured: {connections} connections of max_connections {max_connections} ({reserved} reserved){}{}",
                if parts.is_empty() { "" } else { ": " },
                parts.join(", ")
            ))
        }
    }
}

/// What the measurement found wrong with the declarations, then the connections no
/// service accounts for, each by application, role and address: the lines under a
/// database, in the table, the budget screen and the detail view alike.
pub fn measured_details(b: &DatabaseBudget) -> Vec<String> {
    let mut lines: Vec<String> = b.measured_findings().into_iter().map(|f| format!("finding: {f}")).collect();
    if let Measured::Connections { unmatched, .. } = &b.measured {
        for c in unmatched {
            let app = if c.application_name.is_empty() { "(no application_name)" } else { &c.application_name };
            let from = c.client_addr.as_deref().unwrap_or("local socket");
            lines.push(format!(
                "unmatched: {} connection(s) of {app} as {} from {from}: bind them to a service in the profile",
                c.count, c.user
            ));
        }
    }
    lines
}

/// `{"databases": [...]}` with CLI.md's field names (`max_connections`, `usable` and the
/// percentages are `null` when the limit is unknown). Added beyond CLI.md: `kind`
/// (`server`/`pooler`), `server` (a pooler's), `origin`, `notes`, `limit_known`, `demand`,
/// per service `via` and `pooler_for`, `usable`,
/// `findings` and `declared` (the limits before the server's replaced them), `measured.unmatched`,
/// `warn_percent`, `pooler`, `state_at_hpa_max`, `formula`, `sources`, per service
/// `hpa_max` and `extra`, and `measured.error` when the measurement failed.
pub fn json(budgets: &[DatabaseBudget], notes: &[String]) -> Value {
    let databases: Vec<Value> = budgets.iter().map(database_json).collect();
    json!({ "databases": databases, "notes": notes })
}

fn database_json(b: &DatabaseBudget) -> Value {
    let services: Vec<Value> = b
        .services
        .iter()
        .map(|u| {
            json!({
                "namespace": u.key.namespace,
                "name": u.key.name,
                "replicas": u.replicas,
                "hpa_max": u.hpa_max,
                "pool": u.pool.value,
                "overflow": u.overflow.value,
                "extra": u.extra.value,
                "per_replica": u.per_replica(),
                "source": u.source(),
                "via": u.via,
                "pooler_for": u.pooler_for.iter().map(|k| format!("{}/{}", k.namespace, k.name)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let measured = match &b.measured {
        Measured::NotConfigured => Value::Null,
        Measured::Unavailable(cause) => json!({"connections": null, "by_service": {}, "error": cause}),
        Measured::Connections { max_connections, reserved, connections, by_service, unmatched } => json!({
            "connections": connections,
            "by_service": by_service,
            "max_connections": max_connections,
            "reserved": reserved,
            "unmatched": unmatched.iter().map(|c| json!({
                "application_name": c.application_name,
                "user": c.user,
                "client_addr": c.client_addr,
                "connections": c.count,
            })).collect::<Vec<_>>(),
        }),
    };
    let (kind, server) = match &b.kind {
        DatabaseKind::Server => ("server", None),
        DatabaseKind::Pooler { server, .. } => ("pooler", server.clone()),
    };
    json!({
        "name": b.name,
        "kind": kind,
        "server": server,
        "origin": b.origin,
        "notes": b.notes,
        "limit_known": b.limit_known(),
        "demand": b.demand(),
        "max_connections": b.limit_known().then_some(b.max_connections.value),
        "reserved": b.reserved.value,
        "headroom": b.headroom.value,
        "usable": b.limit_known().then(|| b.usable()),
        "current": b.required(),
        "at_hpa_max": b.required_at_hpa_max(),
        "percent": finite(b.percent()),
        "percent_at_hpa_max": finite(b.percent_at_hpa_max()),
        "state": b.state(),
        "state_at_hpa_max": b.state_at_hpa_max(),
        "warn_percent": b.warn_percent,
        "pooler": b.pooler,
        "formula": b.formula(false),
        "sources": {
            "max_connections": b.max_connections.source,
            "reserved": b.reserved.source,
            "headroom": b.headroom.source,
        },
        "measured": measured,
        "findings": b.measured_findings(),
        "declared": b.declared.as_ref().map(|d| json!({
            "max_connections": d.max_connections.value,
            "max_connections_source": d.max_connections.source,
            "reserved": d.reserved.value,
            "reserved_source": d.reserved.source,
        })),
        "services": services,
    })
}

/// JSON has no infinity: a database with no usable connections, or an unknown limit,
/// reports `null`.
fn finite(percent: f64) -> Value {
    if percent.is_finite() { json!(percent) } else { Value::Null }
}
