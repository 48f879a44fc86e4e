//! The service overview: one row per service, problems first, columns dropped by priority
//! when the terminal is narrow. Only the rows that fit are built.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::statusline::{Connectivity, connectivity, missing_permissions};
use crate::cluster::watch::{ResourceKind, WatchHealth};
use crate::config::theme::Theme;
use crate::model::budget::{BudgetState, format_percent};
use crate::model::sanitize::clean;
use crate::model::service::{ProbeKind, RolloutState, Service, Severity};
use crate::model::slo::GateState;
use crate::ui::app::App;
use crate::ui::format::age;

/// A column: header, width, and how important it is (0 is kept longest).
struct Column {
    header: &'static str,
    width: u16,
    priority: u8,
}

const COLUMNS: [Column; 14] = [
    Column { header: "NAMESPACE", width: 14, priority: 4 },
    Column { header: "SERVICE", width: 24, priority: 0 },
    Column { header: "KIND", width: 6, priority: 6 },
    Column { header: "READY", width: 7, priority: 0 },
    Column { header: "UP-TO-DATE", width: 10, priority: 3 },
    Column { header: "AVAILABLE", width: 9, priority: 3 },
    Column { header: "HPA", width: 9, priority: 2 },
    Column { header: "ROLLOUT", width: 11, priority: 1 },
    Column { header: "PROBES", width: 6, priority: 1 },
    Column { header: "PDB", width: 9, priority: 1 },
    Column { header: "BUDGET", width: 7, priority: 3 },
    Column { header: "SLO", width: 5, priority: 3 },
    Column { header: "CHECKS", width: 6, priority: 4 },
    Column { header: "AGE", width: 6, priority: 5 },
];

/// Which columns fit in `width`: drop the least important until they do. The namespace
/// column is pointless when one namespace is shown.
fn visible_columns(width: u16, one_namespace: bool) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..COLUMNS.len()).filter(|&i| !(one_namespace && i == 0)).collect();
    let total = |shown: &[usize]| shown.iter().map(|&i| COLUMNS[i].width + 1).sum::<u16>();
    while total(&shown) > width {
        let Some(drop) =
            shown.iter().copied().filter(|&i| COLUMNS[i].priority > 0).max_by_key(|&i| (COLUMNS[i].priority, i))
        else {
            break;
        };
        shown.retain(|&i| i != drop);
    }
    shown
}

/// The table's frame: a rule on top that carries the title.
fn table_block<'a>() -> Block<'a> {
    Block::default().borders(Borders::TOP)
}

/// Rows of services one page shows in `area` (the table's body, under its header).
pub fn page(area: Rect) -> usize {
    body_height(table_block().inner(area))
}

fn body_height(inner: Rect) -> usize {
    inner.height.saturating_sub(1) as usize
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect, now: Timestamp) {
    let theme = &app.theme;
    let view = app.view.clone();
    let health = connectivity(&view, now);
    let title = title(app, &health);
    let block = table_block().title(title).border_style(theme.style("ui.border"));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let columns = visible_columns(inner.width, view.namespace.is_some());
    let body_height = body_height(inner);
    if app.rows.is_empty() {
        let text = empty_text(app, &health);
        frame.render_widget(Line::from(Span::styled(text, theme.style("ui.text.dim"))), inner);
        return;
    }
    let offset = app.overview.selected.saturating_sub(body_height.saturating_sub(1));
    let pdb_access =
        !matches!(view.health.get(&ResourceKind::PodDisruptionBudgets), Some(WatchHealth::NoAccess { .. }));
    let hpa_access =
        !matches!(view.health.get(&ResourceKind::HorizontalPodAutoscalers), Some(WatchHealth::NoAccess { .. }));
    let stale = matches!(health, Connectivity::Stale { .. });
    // Only services with rules have a gate state (followed in a pane or in the background,
    // up to a cap): no stream, no verdict.
    let gates = app.slo_gates(now);
    // Across namespaces, a name alone is ambiguous once the NAMESPACE column is gone.
    let qualify = view.namespace.is_none() && !columns.contains(&0);
    let context = CellContext { now, pdb_access, hpa_access, qualify };
    let rows: Vec<Row> = app.rows[offset..]
        .iter()
        .take(body_height)
        .enumerate()
        .map(|(n, &i)| {
            let service = &view.services[i];
            let slo = gates.get(&service.key).copied();
            let cells = columns.iter().map(|&c| cell(theme, c, service, &context, slo));
            let mut style = row_style(theme, service, stale);
            if offset + n == app.overview.selected {
                style = style.patch(theme.style("ui.selection"));
            }
            Row::new(cells).style(style)
        })
        .collect();
    let header = Row::new(columns.iter().map(|&c| sort_marker(app, COLUMNS[c].header))).style(theme.style("ui.header"));
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|&c| if c == 1 { Constraint::Min(COLUMNS[c].width) } else { Constraint::Length(COLUMNS[c].width) })
        .collect();
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), inner);
}

fn title<'a>(app: &App, health: &Connectivity) -> Line<'a> {
    let theme = &app.theme;
    let view = &app.view;
    let problems = view.services.iter().filter(|s| s.severity() >= Some(Severity::Warning)).count();
    let mut spans = vec![Span::styled(format!(" Services {} ", app.rows.len()), theme.style("ui.title"))];
    if problems > 0 {
        spans.push(Span::styled(format!("· {problems} with problems "), theme.style("state.warn")));
    }
    if !app.overview.filter.is_empty() {
        spans.push(Span::styled(format!("· filter \"{}\" ", clean(&app.overview.filter)), theme.style("ui.match")));
    }
    if let Connectivity::Stale { .. } | Connectivity::Reconnecting { .. } = health {
        spans.push(Span::styled(format!("· {} ", health.label()), theme.style("state.stale")));
    }
    Line::from(spans)
}

fn empty_text(app: &App, health: &Connectivity) -> String {
    if app.awaiting.is_some() || matches!(health, Connectivity::Syncing) {
        "Loading services…".into()
    } else if !app.overview.filter.is_empty() {
        format!("No service matches \"{}\" (backspace clears the filter)", clean(&app.overview.filter))
    } else if missing_permissions(&app.view).iter().any(|p| p.contains("deployments")) {
        "No access to deployments here: try another namespace".into()
    } else {
        "No Deployments or StatefulSets in this scope".into()
    }
}

fn sort_marker(app: &App, header: &'static str) -> String {
    if app.overview.sort.header() == header {
        format!("{header}{}", if app.overview.reverse { "▲" } else { "▼" })
    } else {
        header.to_string()
    }
}

fn row_style(theme: &Theme, service: &Service, stale: bool) -> Style {
    if stale {
        return theme.style("state.stale");
    }
    match service.severity() {
        Some(Severity::Error) => theme.style("state.error"),
        Some(Severity::Warning) => theme.style("state.warn"),
        _ => theme.style("ui.text"),
    }
}

/// What every row's cells share.
struct CellContext {
    now: Timestamp,
    pdb_access: bool,
    hpa_access: bool,
    /// Show `namespace/name` (the NAMESPACE column is gone but several namespaces are shown).
    qualify: bool,
}

fn cell<'a>(theme: &Theme, column: usize, s: &Service, ctx: &CellContext, slo: Option<GateState>) -> Cell<'a> {
    let (now, pdb_access, hpa_access, qualify) = (ctx.now, ctx.pdb_access, ctx.hpa_access, ctx.qualify);
    let r = &s.replicas;
    match COLUMNS[column].header {
        "NAMESPACE" => Cell::from(clean(&s.key.namespace)),
        "SERVICE" if qualify => Cell::from(clean(&format!("{}/{}", s.key.namespace, s.key.name))),
        "SERVICE" => Cell::from(clean(&s.key.name)),
        "KIND" => Cell::from(s.key.kind.short()),
        "READY" => Cell::from(format!("{}/{}", r.ready, r.desired)),
        "UP-TO-DATE" => Cell::from(r.updated.to_string()),
        "AVAILABLE" => Cell::from(r.available.to_string()),
        "HPA" => Cell::from(match &s.hpa {
            _ if !hpa_access => "no access".to_string(),
            Some(h) => format!("{}-{}", h.min, h.max),
            None => "-".to_string(),
        }),
        "ROLLOUT" => rollout_cell(theme, s),
        "PROBES" => probes_cell(theme, s),
        "PDB" => Cell::from(match &s.pdb {
            _ if !pdb_access => "no access".to_string(),
            Some(p) => format!("{}/{}", p.disruptions_allowed, p.current_healthy),
            None => "-".to_string(),
        }),
        "BUDGET" => budget_cell(theme, s),
        "CHECKS" => checks_cell(theme, s),
        "SLO" => match slo {
            Some(state) => {
                let text = match state {
                    GateState::Pass => "pass",
                    GateState::Warn => "warn",
                    GateState::Fail => "FAIL",
                };
                Cell::from(Span::styled(text, super::logs::gate_style(theme, state)))
            }
            None => Cell::from(Span::styled("-", theme.style("ui.text.dim"))),
        },
        "AGE" => Cell::from(age(s.created, now)),
        _ => Cell::from(""),
    }
}

fn rollout_cell<'a>(theme: &Theme, s: &Service) -> Cell<'a> {
    let r = &s.replicas;
    let (text, key) = match s.rollout.state {
        RolloutState::Complete => ("complete".to_string(), "state.ok"),
        RolloutState::Progressing => (format!("{} of {}", r.updated, r.desired), "state.info"),
        RolloutState::Stalled => ("stalled".to_string(), "state.error"),
        RolloutState::Paused => ("paused".to_string(), "state.warn"),
    };
    Cell::from(Span::styled(text, theme.style(key)))
}

/// How many preflight checks the manifest fails, coloured by the worst (`-` for none).
fn checks_cell<'a>(theme: &Theme, s: &Service) -> Cell<'a> {
    let found = s.lint_findings();
    match found.first() {
        None => Cell::from(Span::styled("-", theme.style("ui.text.dim"))),
        Some(worst) => {
            Cell::from(Span::styled(found.len().to_string(), super::findings::severity_style(theme, worst.severity)))
        }
    }
}

/// The service's database's use, coloured by its state; `-` when it uses none.
fn budget_cell<'a>(theme: &Theme, s: &Service) -> Cell<'a> {
    let Some(b) = &s.budget else { return Cell::from(Span::styled("-", theme.style("ui.text.dim"))) };
    let key = match b.state {
        BudgetState::Ok => "state.ok",
        BudgetState::Warn => "state.warn",
        BudgetState::Over => "state.error",
    };
    Cell::from(Span::styled(format_percent(b.percent).replace(' ', ""), theme.style(key)))
}

/// `S R L`: which probes exist, coloured by how the pods are doing; `-` for a missing one.
fn probes_cell<'a>(theme: &Theme, s: &Service) -> Cell<'a> {
    let live = if s.pods_summary.total == 0 || s.pods_summary.ready == s.pods_summary.total {
        "state.ok"
    } else if s.pods_summary.ready == 0 {
        "state.error"
    } else {
        "state.warn"
    };
    let spans: Vec<Span> = [(ProbeKind::Startup, "S"), (ProbeKind::Readiness, "R"), (ProbeKind::Liveness, "L")]
        .into_iter()
        .map(|(kind, letter)| {
            if s.probes.iter().any(|p| p.probe == kind) {
                Span::styled(letter, theme.style(live))
            } else {
                Span::styled("-", theme.style("ui.text.dim"))
            }
        })
        .collect();
    Cell::from(Line::from(spans))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_drop_the_least_important_columns_first() {
        let all = visible_columns(200, false);
        assert_eq!(all.len(), COLUMNS.len());
        let at80 = visible_columns(80, false);
        let headers: Vec<&str> = at80.iter().map(|&i| COLUMNS[i].header).collect();
        for essential in ["SERVICE", "READY", "ROLLOUT", "PROBES", "PDB"] {
            assert!(headers.contains(&essential), "{essential} kept at 80 columns: {headers:?}");
        }
        assert!(!headers.contains(&"KIND"), "KIND goes first: {headers:?}");
        let width: u16 = at80.iter().map(|&i| COLUMNS[i].width + 1).sum();
        assert!(width <= 80);
        assert!(!visible_columns(200, true).contains(&0), "one namespace: no NAMESPACE column");
    }
}
